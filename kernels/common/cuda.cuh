// What the GPU engine's kernels share (CUDA only): launch bounds, thread indices, a tap added
// to a sum with one rounding, storing, and applying a table row's taps to a line or a pixel.
// kernels/resample.cu includes it after the headers of kernels/common/.
#pragma once

// Every kernel runs in blocks of BLOCK_THREADS (resample/gpu.py's BLOCK): ptxas may then
// budget registers for exactly that.
#define BLOCK_THREADS 256
#ifdef __CUDACC__
#define LAUNCH_BOUNDS __launch_bounds__(BLOCK_THREADS)
#define LAUNCH_BOUNDS_2 __launch_bounds__(BLOCK_THREADS, 2)   // up to 128 registers
#define BLOCKS_BOUNDS(MIN_BLOCKS) __launch_bounds__(BLOCK_THREADS, MIN_BLOCKS)
#define TILED_BOUNDS(MIN_BLOCKS) __launch_bounds__(TILED_THREADS, MIN_BLOCKS)
#else
#define BLOCKS_BOUNDS(MIN_BLOCKS)
#define TILED_BOUNDS(MIN_BLOCKS)
#define LAUNCH_BOUNDS
#define LAUNCH_BOUNDS_2
#endif

// q / d, and q - (q / d) * d in *rem.  In 32 bits when both fit: a 64-bit division costs a
// GPU many times more instructions, and every thread of every kernel here does one or two.
__device__ __forceinline__ long long divide(long long q, long long d, long long* rem) {
    long long quot;
    if (q <= 0x7fffffffLL && d <= 0x7fffffffLL)
        quot = (long long)((unsigned)q / (unsigned)d);
    else
        quot = q / d;
    *rem = q - quot * d;
    return quot;
}

// The thread's global index on a 1-D grid.
__device__ __forceinline__ long long thread_index() {
    return (long long)blockIdx.x * blockDim.x + threadIdx.x;
}

// A tap added to a sum: acc + w (v - base) (common/store.h's tap_term), with one rounding: a
// fused multiply-add, one instruction on a GPU.  Every kernel here sums so (the shim computes
// the same fused result), so the one-pass, two-pass and tiled resizes agree bit for bit; the
// CPU engine rounds the product first, and the engines may differ in a sum's last bit.
__device__ __forceinline__ float fused(float a, float b, float c) { return fmaf(a, b, c); }
__device__ __forceinline__ double fused(double a, double b, double c) { return fma(a, b, c); }
template <typename W>
__device__ __forceinline__ W tap_add(W acc, W w, W v, W base) {
    return w != W(0) ? fused(w, v - base, acc) : acc;
}

// An 8/16-bit output sample from a sum: floor(v + 0.5) clipped to [0, 2^bits - 1], NaN to 0,
// as store_sample with lo = 0 and hi the type's largest: one saturating conversion
// (F2I.U8/U16.FLOOR) on the GPU, where store_sample takes two conversions and six more.
template <typename Out>
__device__ __forceinline__ Out store_saturated(float v) {
    v = v + 0.5f;
#ifdef __CUDA_ARCH__
    unsigned r;                         // (a 32-bit register: no masking before the store)
    if (sizeof(Out) == 1)
        asm("cvt.rmi.sat.u8.f32 %0, %1;" : "=r"(r) : "f"(v));
    else
        asm("cvt.rmi.sat.u16.f32 %0, %1;" : "=r"(r) : "f"(v));
    return (Out)r;
#else
    const float hi = sizeof(Out) == 1 ? 255.0f : 65535.0f;
    v = v >= 0.0f ? v : 0.0f;
    v = v <= hi ? v : hi;
    return (Out)(int)v;
#endif
}

// store_sample (common/store.h) as the kernels store: store_saturated where the clip is an
// 8/16-bit type's whole range (the same value).
template <typename T, typename W>
__device__ __forceinline__ T store_out(W v, W lo, W hi, int rounding) {
    if (sizeof(T) <= 2 && sizeof(W) == 4 && rounding && lo == W(0)
        && hi == W(sizeof(T) == 1 ? 255 : 65535))
        return store_saturated<T>((float)v);
    return store_sample<T, W>(v, lo, hi, rounding);
}

// One output value from a tap table row: sum_k w[k] * line[idx[k] * stride] (+ the fill term),
// relative to the base of the first tap of nonzero weight, as the CPU engine sums
// (common/store.h: sum_base, fill_term; tap_add above).  A tap of weight 0 is skipped.
template <typename In, typename W>
__device__ __forceinline__ W apply_taps(const In* __restrict__ line, long long stride,
                                        const int* __restrict__ idx, const W* __restrict__ w,
                                        int count, W fill_weight, W fill) {
    int k = 0;
    while (k < count && w[k] == W(0)) ++k;
    if (k == count) return fill_weight * fill;
    W base = sum_base<W>((W)line[idx[k] * stride]);
    W acc = base + fill_term<W>(fill_weight, fill, base);
    for (; k < count; ++k) acc = tap_add<W>(acc, w[k], (W)line[idx[k] * stride], base);
    return acc;
}

// A tap table on the device (resample/taps.py's Taps): row o has count[o] taps
// index[o * width + k] with weight[o * width + k], and the fill term fill_weight[o].
#define TABLE_PARAMS(W, P) const int* P##index, const W* P##weight, const int* P##count,       \
                           const W* P##fill_weight, int P##width
#define TABLE_ROW(P, o) P##index + (o) * P##width, P##weight + (o) * P##width, P##count[o],    \
                        P##fill_weight[o]

// Channels a thread holds in registers: a pixel's (up to RGBA) share its table row.
#define PIXEL_CHANNELS 4

// apply_taps for the channels c0 .. c0 + nc - 1 of a pixel at once (nc <= PIXEL_CHANNELS):
// out[c] = sum_k w[k] * line[idx[k] * stride + c] (+ the fill term), each channel summed
// relative to its own base exactly as apply_taps sums it; the table row is read once.
// Indices are taken less ``offset`` (a tile's first row or column; 0 for a whole line).
template <typename In, typename W>
__device__ __forceinline__ void apply_taps_pixel(
        const In* __restrict__ line, long long stride, const int* __restrict__ idx, int offset,
        const W* __restrict__ w, int count, W fill_weight, W fill, int nc, W* out) {
    int k = 0;
    while (k < count && w[k] == W(0)) ++k;
    if (k == count) {
#pragma unroll
        for (int c = 0; c < PIXEL_CHANNELS; ++c) out[c] = fill_weight * fill;
        return;
    }
    W base[PIXEL_CHANNELS];
    const In* first = line + (long long)(idx[k] - offset) * stride;
#pragma unroll
    for (int c = 0; c < PIXEL_CHANNELS; ++c) {
        base[c] = c < nc ? sum_base<W>((W)first[c]) : W(0);
        out[c] = base[c] + fill_term<W>(fill_weight, fill, base[c]);
    }
    for (; k < count; ++k) {
        const In* px = line + (long long)(idx[k] - offset) * stride;
        W wk = w[k];
#pragma unroll
        for (int c = 0; c < PIXEL_CHANNELS; ++c)
            if (c < nc) out[c] = tap_add<W>(out[c], wk, (W)px[c], base[c]);
    }
}
