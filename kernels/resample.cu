// resample: separable resize passes and point sampling, as CUDA kernels.
//
// The same tap tables drive these kernels and the CPU engine (resample/taps.py), so every
// method, alignment, antialiasing stretch and boundary mode is already in the tables:
//
//     out[o] = sum_{k < count[o]} weight[o * width + k] * in[index[o * width + k]]
//              + fill_weight[o] * fill          (the fill term only where fill_weight != 0)
//
// Images are C-contiguous (rows, cols, channels).  W is the work type: float for 8/16-bit and
// float32 images, double for float64.  Integer outputs are rounded half up, floor(v + 0.5),
// and clipped to [lo, hi], as the CPU engine's _store.
//
// Plain CUDA C++: no shared memory, no warp intrinsics and no __syncthreads, so that
// kernels/cpu_shim.h can run the same source on the CPU (tests/test_kernels.py) by looping
// over blocks and threads.  The entry points are extern "C" for cupy.RawModule.

template <typename W>
__device__ __forceinline__ W store_value(W v, W lo, W hi, int rounding) {
    if (rounding) {
        v = floor(v + W(0.5));
        v = v < lo ? lo : (v > hi ? hi : v);
    }
    return v;
}

// The pass along columns: dst[r, o, c] from src[r, :, c].  One thread per output value
// (r, o, c); consecutive threads write consecutive values.
template <typename In, typename Out, typename W>
__device__ __forceinline__ void cols_pass(
        const In* __restrict__ src, Out* __restrict__ dst, long long n_rows,
        long long cols_in, long long cols_out, int n_ch,
        const long long* __restrict__ index, const W* __restrict__ weight,
        const long long* __restrict__ count, const W* __restrict__ fill_weight, int width,
        W fill, W lo, W hi, int rounding) {
    long long q = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    long long per_row = cols_out * n_ch;
    if (q >= n_rows * per_row) return;
    long long r = q / per_row;
    long long m = q - r * per_row;
    long long o = m / n_ch;
    int c = (int)(m - o * n_ch);
    const In* line = src + r * cols_in * n_ch + c;
    const long long* idx = index + o * width;
    const W* w = weight + o * width;
    W acc = W(0);
    for (long long k = 0; k < count[o]; ++k) acc += w[k] * (W)line[idx[k] * n_ch];
    if (fill_weight[o] != W(0)) acc += fill_weight[o] * fill;
    dst[q] = (Out)store_value(acc, lo, hi, rounding);
}

// The pass along rows: dst[o, :] from rows of src, each row seen as cols * n_ch values.
template <typename In, typename Out, typename W>
__device__ __forceinline__ void rows_pass(
        const In* __restrict__ src, Out* __restrict__ dst, long long rows_out,
        long long row_size, const long long* __restrict__ index, const W* __restrict__ weight,
        const long long* __restrict__ count, const W* __restrict__ fill_weight, int width,
        W fill, W lo, W hi, int rounding) {
    long long q = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (q >= rows_out * row_size) return;
    long long o = q / row_size;
    long long m = q - o * row_size;
    const long long* idx = index + o * width;
    const W* w = weight + o * width;
    W acc = W(0);
    for (long long k = 0; k < count[o]; ++k) acc += w[k] * (W)src[idx[k] * row_size + m];
    if (fill_weight[o] != W(0)) acc += fill_weight[o] * fill;
    dst[q] = (Out)store_value(acc, lo, hi, rounding);
}

// Point sampling: dst[p, c] = sum_a wy[p,a] (sum_b wx[p,b] src[iy[p,a], ix[p,b], c]
// + fx[p] fill) + fy[p] fill.  One thread per (point, channel).
template <typename In, typename Out, typename W>
__device__ __forceinline__ void gather_points(
        const In* __restrict__ src, Out* __restrict__ dst, long long n_points,
        long long cols, int n_ch,
        const long long* __restrict__ iy, const W* __restrict__ wy,
        const long long* __restrict__ cy, const W* __restrict__ fy, int width_y,
        const long long* __restrict__ ix, const W* __restrict__ wx,
        const long long* __restrict__ cx, const W* __restrict__ fx, int width_x,
        W fill, W lo, W hi, int rounding) {
    long long q = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (q >= n_points * n_ch) return;
    long long p = q / n_ch;
    int c = (int)(q - p * n_ch);
    W acc = W(0);
    for (long long a = 0; a < cy[p]; ++a) {
        const In* line = src + iy[p * width_y + a] * cols * n_ch + c;
        W row = W(0);
        for (long long b = 0; b < cx[p]; ++b)
            row += wx[p * width_x + b] * (W)line[ix[p * width_x + b] * n_ch];
        if (fx[p] != W(0)) row += fx[p] * fill;
        acc += wy[p * width_y + a] * row;
    }
    if (fy[p] != W(0)) acc += fy[p] * fill;
    dst[q] = (Out)store_value(acc, lo, hi, rounding);
}

// extern "C" entry points, one per (input, output) type pair: NAME_IN_OUT.
#define RESAMPLE_ENTRY_POINTS(SUFFIX, IN, OUT, W)                                              \
extern "C" __global__ void cols_##SUFFIX(                                                      \
        const IN* src, OUT* dst, long long n_rows, long long cols_in, long long cols_out,      \
        int n_ch, const long long* index, const W* weight, const long long* count,             \
        const W* fill_weight, int width, W fill, W lo, W hi, int rounding) {                   \
    cols_pass<IN, OUT, W>(src, dst, n_rows, cols_in, cols_out, n_ch, index, weight, count,    \
                          fill_weight, width, fill, lo, hi, rounding);                         \
}                                                                                              \
extern "C" __global__ void rows_##SUFFIX(                                                      \
        const IN* src, OUT* dst, long long rows_out, long long row_size,                       \
        const long long* index, const W* weight, const long long* count,                       \
        const W* fill_weight, int width, W fill, W lo, W hi, int rounding) {                   \
    rows_pass<IN, OUT, W>(src, dst, rows_out, row_size, index, weight, count, fill_weight,    \
                          width, fill, lo, hi, rounding);                                      \
}                                                                                              \
extern "C" __global__ void gather_##SUFFIX(                                                    \
        const IN* src, OUT* dst, long long n_points, long long cols, int n_ch,                 \
        const long long* iy, const W* wy, const long long* cy, const W* fy, int width_y,       \
        const long long* ix, const W* wx, const long long* cx, const W* fx, int width_x,       \
        W fill, W lo, W hi, int rounding) {                                                    \
    gather_points<IN, OUT, W>(src, dst, n_points, cols, n_ch, iy, wy, cy, fy, width_y, ix,    \
                              wx, cx, fx, width_x, fill, lo, hi, rounding);                    \
}

// First passes read the image's type into the work type; second passes store it back.
RESAMPLE_ENTRY_POINTS(u8_f32, unsigned char, float, float)
RESAMPLE_ENTRY_POINTS(f32_u8, float, unsigned char, float)
RESAMPLE_ENTRY_POINTS(u8_u8, unsigned char, unsigned char, float)
RESAMPLE_ENTRY_POINTS(u16_f32, unsigned short, float, float)
RESAMPLE_ENTRY_POINTS(f32_u16, float, unsigned short, float)
RESAMPLE_ENTRY_POINTS(u16_u16, unsigned short, unsigned short, float)
RESAMPLE_ENTRY_POINTS(f32_f32, float, float, float)
RESAMPLE_ENTRY_POINTS(f64_f64, double, double, double)
