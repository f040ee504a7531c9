// resample: separable resize passes and point sampling, as CUDA kernels.
//
// The same tap tables drive these kernels and the CPU engine (resample/taps.py), so every
// method, alignment, antialiasing stretch and boundary mode is already in the tables:
//
//     out[o] = sum_{k < count[o]} weight[o * width + k] * in[index[o * width + k]]
//              + fill_weight[o] * fill          (the fill term only where fill_weight != 0)
//
// Tables made on the host are compacted (no zero weights); those made on the device for point
// sampling are not, so a tap of weight 0 is skipped: it never reads a NaN into the sum.
// Images are C-contiguous (rows, cols, channels).  W is the work type: float for 8/16-bit and
// float32 images, double for float64.  Integer outputs are rounded half up, floor(v + 0.5),
// and clipped to [lo, hi], as the CPU engine's _store.
//
// Plain CUDA C++, so that tests/shim/cpu_shim.h can run the same source on the CPU
// (tests/engines/test_kernels.py): no warp intrinsics; shared memory and __syncthreads only in
// tiled_pass, which the shim runs a block at a time with a thread per CUDA thread.  The
// entry points are extern "C" for cupy.RawModule.

#include "common/store.h"      // storing, sums of taps
#include "common/taps.h"       // methods, boundaries, tap tables
#include "common/gaussians.h"  // footprints, gradients, steering
#include "common/nearest.h"    // the k nearest points
#include "common/distance.h"   // the nearest point of every pixel

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

// The pass along columns: dst[r, o, :] from src[r, :, :].  One thread per output pixel
// (r, o), its channels in registers, PIXEL_CHANNELS at a time.
template <typename In, typename Out, typename W>
__device__ __forceinline__ void cols_pass(
        const In* __restrict__ src, Out* __restrict__ dst, long long n_rows,
        long long cols_in, long long cols_out, int n_ch, TABLE_PARAMS(W, ), W fill, W lo,
        W hi, int rounding) {
    long long q = thread_index();
    if (q >= n_rows * cols_out) return;
    long long o;
    long long r = divide(q, cols_out, &o);
    for (int c0 = 0; c0 < n_ch; c0 += PIXEL_CHANNELS) {
        int nc = n_ch - c0 < PIXEL_CHANNELS ? n_ch - c0 : PIXEL_CHANNELS;
        W v[PIXEL_CHANNELS];
        apply_taps_pixel(src + r * cols_in * n_ch + c0, n_ch, index + o * width, 0,
                         weight + o * width, count[o], fill_weight[o], fill, nc, v);
#pragma unroll
        for (int c = 0; c < PIXEL_CHANNELS; ++c)
            if (c < nc) dst[q * n_ch + c0 + c] = store_out<Out, W>(v[c], lo, hi, rounding);
    }
}

// The pass along rows: dst[o, :] from rows of src, each row seen as row_size values.
template <typename In, typename Out, typename W>
__device__ __forceinline__ void rows_pass(
        const In* __restrict__ src, Out* __restrict__ dst, long long rows_out,
        long long row_size, TABLE_PARAMS(W, ), W fill, W lo, W hi, int rounding) {
    long long q = thread_index();
    if (q >= rows_out * row_size) return;
    long long m;
    long long o = divide(q, row_size, &m);
    dst[q] = store_out<Out, W>(apply_taps(src + m, row_size, TABLE_ROW(, o), fill), lo, hi,
                                  rounding);
}

// Two tables at once: dst[p, c] = sum_a wy[a] (sum_b wx[b] src[iy[a], ix[b], c] + fx fill)
// + fy fill, with the y table's row ty and the x table's row tx, for the point p; its
// channels in registers (PIXEL_CHANNELS at a time), so both table rows are read once a pixel,
// not once a value.  The sums are those of the two passes (cols first), bit for bit: the x
// sums of each y tap as the cols pass makes them, then the y taps over them as the rows pass.
template <typename In, typename Out, typename W>
__device__ __forceinline__ void gather_pixel(
        const In* __restrict__ src, Out* __restrict__ dst, long long p, long long ty,
        long long tx, long long cols, int n_ch, TABLE_PARAMS(W, y_), TABLE_PARAMS(W, x_),
        W fill, W lo, W hi, int rounding) {
    const int* iy = y_index + ty * y_width;
    const W* wy = y_weight + ty * y_width;
    W y_fill = y_fill_weight[ty];
    for (int c0 = 0; c0 < n_ch; c0 += PIXEL_CHANNELS) {
        int nc = n_ch - c0 < PIXEL_CHANNELS ? n_ch - c0 : PIXEL_CHANNELS;
        W acc[PIXEL_CHANNELS], base[PIXEL_CHANNELS];
#pragma unroll
        for (int c = 0; c < PIXEL_CHANNELS; ++c) {
            acc[c] = y_fill * fill;
            base[c] = W(0);
        }
        bool first = true;              // relative to a base, as apply_taps
        for (int a = 0; a < y_count[ty]; ++a) {
            if (wy[a] == W(0)) continue;
            W row[PIXEL_CHANNELS];
            apply_taps_pixel(src + (long long)iy[a] * cols * n_ch + c0, n_ch,
                             x_index + tx * x_width, 0, x_weight + tx * x_width, x_count[tx],
                             x_fill_weight[tx], fill, nc, row);
#pragma unroll
            for (int c = 0; c < PIXEL_CHANNELS; ++c) {
                if (first) {
                    base[c] = sum_base<W>(row[c]);
                    acc[c] = base[c] + fill_term<W>(y_fill, fill, base[c]);
                }
                acc[c] = tap_add<W>(acc[c], wy[a], row[c], base[c]);
            }
            first = false;
        }
#pragma unroll
        for (int c = 0; c < PIXEL_CHANNELS; ++c)
            if (c < nc) dst[p * n_ch + c0 + c] = store_out<Out, W>(acc[c], lo, hi, rounding);
    }
}

// gather_pixel for a thread per point.  Point sampling: ty = tx = p.  A one-pass resize (a
// grid of cols_out > 0 columns): ty = p / cols_out, tx = p % cols_out.
template <typename In, typename Out, typename W>
__device__ __forceinline__ void gather_pass(
        const In* __restrict__ src, Out* __restrict__ dst, long long n_points,
        long long cols_out, long long cols, int n_ch, TABLE_PARAMS(W, y_), TABLE_PARAMS(W, x_),
        W fill, W lo, W hi, int rounding) {
    long long p = thread_index();
    if (p >= n_points) return;
    long long ty, tx;
    if (cols_out > 0)
        ty = divide(p, cols_out, &tx);
    else
        ty = tx = p;
    gather_pixel<In, Out, W>(src, dst, p, ty, tx, cols, n_ch, y_index, y_weight, y_count,
                             y_fill_weight, y_width, x_index, x_weight, x_count, x_fill_weight,
                             x_width, fill, lo, hi, rounding);
}

// A resize a tile of tile_rows x TILE output pixels a block (tile_rows: TILE, or
// TILE_ROWS_MAX where the host finds every tile fits tiled_fast so), through shared memory:
// the tile's input footprint (rows y_span[2 t] .. y_span[2 t + 1] of its tile row t, columns
// likewise from x_span) is read from global memory once; the x taps make a float row a
// footprint row and output column, in shared memory; the y taps make the outputs from them.
// The same sums as the two passes (cols first) and gather_pixel, bit for bit.  Two ways:
// - tiled_fast (8/16-bit pictures of at most 4 channels in float work, at most TILE_TAPS
//   taps an axis, no zero weight and no fill term: the host says so in ``fast``): the
//   footprint kept packed (RGB 8-bit: a 32-bit word a pixel) and lifted to float by its
//   bits; a thread a fixed output column in the x pass, its taps in registers; the tile's
//   y table rows in shared memory; two output rows a thread where their taps are shifts of
//   each other (y_pair), each row they read loaded once for both.
// - tiled_general (any type and channel count): samples converted to the work type in shared
//   memory, tables read from global memory a tap at a time.
// A tile whose footprint does not fit in TILE_BYTES is computed by gather_pixel.
#define TILE 32
#define TILE_BYTES 32768
#define TILE_TAPS 8                        // the most taps an axis tiled_fast holds
#define TILED_THREADS 128                  // a tiled_* block's threads (resample/gpu.py's)
#define TILE_ROWS (TILED_THREADS / TILE)   // rows a block's threads cover at once
#define TILE_ROWS_MAX 64                   // a tile's rows: TILE, or up to this (``tile_rows``)

// Where a block's tile lies: output rows r0 .. r0 + n_r - 1 and columns o0 .. o0 + n_c - 1,
// reading input rows r_lo .. r_lo + nr - 1 and columns c_lo .. c_lo + nc - 1.  In 32 bits
// (the host takes the tiled kernel only for sides below 2^31): a 64-bit division and the
// 64-bit clamps cost every thread of every tile some 50 instructions more.
struct TileGeometry {
    int r0, o0, n_r, n_c, r_lo, nr, c_lo, nc;
};

__device__ __forceinline__ TileGeometry tile_geometry(long long rows_out, long long cols_out,
                                                      int tile_rows,
                                                      const int* __restrict__ y_span,
                                                      const int* __restrict__ x_span) {
    TileGeometry g;
    unsigned across = ((unsigned)cols_out + TILE - 1) / TILE;
    unsigned ti = blockIdx.x / across, tj = blockIdx.x - ti * across;
    g.r0 = (int)ti * tile_rows;
    g.o0 = (int)tj * TILE;
    g.n_r = min((int)rows_out - g.r0, tile_rows);
    g.n_c = min((int)cols_out - g.o0, TILE);
    g.r_lo = y_span[2 * ti];
    g.nr = y_span[2 * ti + 1] - g.r_lo + 1;
    g.c_lo = x_span[2 * tj];
    g.nc = x_span[2 * tj + 1] - g.c_lo + 1;
    return g;
}

// A pixel of N samples of T as one aligned vector (one shared-memory load or store).
template <typename T, int N>
struct alignas(sizeof(T) * N) Vec {
    T c[N];
};
// Samples a pixel of NC channels is padded to: a vector load is of 1, 2 or 4 elements.
template <int NC>
struct Padded {
    enum { n = NC == 3 ? 4 : NC };
};

// Samples in float, offset so that differences are exact and cheap: 8/16-bit samples as
// 2^23 + v (their bits under the exponent byte of 2^23: one byte permutation, where a
// conversion runs at an eighth of the FP32 rate), so lift(v) - lift(b) is (float)v - b and
// lift(v) - LIFT is v.
#define LIFT 8388608.0f

// The NC 8/16-bit samples of a pixel, lifted (LIFT) straight from the pixel's words.
template <typename In, int NC>
__device__ __forceinline__ void lift_pixel(const Vec<In, Padded<NC>::n>& p, float* out) {
    typedef Vec<In, Padded<NC>::n> Pixel;
    static_assert(sizeof(In) <= 2, "tiled_fast lifts 8/16-bit samples");
    {
        unsigned words[(sizeof(Pixel) + 3) / 4];
        if constexpr (sizeof(Pixel) == 1) words[0] = *(const unsigned char*)&p;
        else if constexpr (sizeof(Pixel) == 2) words[0] = *(const unsigned short*)&p;
        else {
            words[0] = ((const unsigned*)&p)[0];
            if constexpr (sizeof(Pixel) == 8) words[1] = ((const unsigned*)&p)[1];
        }
#pragma unroll
        for (int c = 0; c < NC; ++c) {
            unsigned select = sizeof(In) == 1 ? 0x7440u | c
                                              : 0x7400u | (c % 2 * 2) | ((c % 2 * 2 + 1) << 4);
            unsigned word = words[sizeof(In) == 1 ? 0 : c / 2];
            out[c] = __uint_as_float(__byte_perm(word, 0x4B000000u, select));
        }
    }
}

// A tap of a table row in shared memory: the input index less the tile's first, its weight.
struct TileTap {
    int index;
    float weight;
};

// Shared memory tiled_fast needs: the y table rows and pair shifts, the footprint, the x
// pass's rows (a row TILE pixels of Padded<NC> floats).
#define FAST_TABLE_BYTES                                                                      \
    (TILE_ROWS_MAX * TILE_TAPS * 8 + TILE_ROWS_MAX * 4 + TILE_ROWS_MAX / 2 * 4)
template <typename In, int NC>
__device__ __forceinline__ long long fast_tile_bytes(const TileGeometry& g) {
    long long in = ((long long)g.nr * g.nc * sizeof(Vec<In, Padded<NC>::n>) + 15) / 16 * 16;
    return FAST_TABLE_BYTES + in + (long long)g.nr * TILE * sizeof(Vec<float, Padded<NC>::n>);
}

template <typename Out, int NC>
__device__ __forceinline__ void store_pixel(Out* q, const float* acc) {
#pragma unroll
    for (int c = 0; c < NC; ++c) q[c] = store_saturated<Out>(acc[c]);
}

// A pixel of the x pass's rows at a byte offset (a tap's ``index``) from a column's base.
template <int NC>
__device__ __forceinline__ Vec<float, Padded<NC>::n> mid_at(const unsigned char* base, int off) {
    return *(const Vec<float, Padded<NC>::n>*)(base + off);
}

// The x pass for one output column and the footprint rows row0, row0 + TILE_ROWS, ...: N
// taps (byte offsets into a footprint row, weights) in registers.  The sum starts at the
// first tap's sample (8/16-bit: a float exactly, never -0, always a sum_base; no fill term
// in tiled_fast), so its own term, w (v - base) = 0, is left out: the same value.
// The column's taps read N consecutive footprint pixels from index[0] (the usual case:
// other columns take x_rows_any), so their addresses are the first's plus constants.
template <typename In, int NC, int N>
__device__ __forceinline__ void x_rows(const unsigned char* line, int line_bytes, int rows,
                                       int row0, const int* index, const float* weight,
                                       int first, unsigned char* mid_col) {
    typedef Vec<In, Padded<NC>::n> InPixel;
    typedef Vec<float, Padded<NC>::n> MidPixel;
    float w[N];
#pragma unroll
    for (int k = 0; k < N; ++k) w[k] = weight[k];
    line += row0 * line_bytes + (index[0] - first) * (int)sizeof(InPixel);
    mid_col += row0 * TILE * sizeof(MidPixel);
    for (int rr = row0; rr < rows; rr += TILE_ROWS) {
        const InPixel* px = (const InPixel*)line;
        float ref[NC], acc[NC];
        lift_pixel<In, NC>(px[0], ref);
#pragma unroll
        for (int c = 0; c < NC; ++c) acc[c] = ref[c] - LIFT;
#pragma unroll
        for (int k = 1; k < N; ++k) {
            float v[NC];
            lift_pixel<In, NC>(px[k], v);
#pragma unroll
            for (int c = 0; c < NC; ++c) acc[c] = fused(w[k], v[c] - ref[c], acc[c]);
        }
        MidPixel m;
#pragma unroll
        for (int c = 0; c < Padded<NC>::n; ++c) m.c[c] = c < NC ? acc[c] : 0.0f;
        *(MidPixel*)mid_col = m;
        line += TILE_ROWS * line_bytes;
        mid_col += TILE_ROWS * TILE * sizeof(MidPixel);
    }
}

// x_rows for any taps (a loop over them, from the table in global memory): columns whose
// taps are not consecutive (merged at an edge) or more than TILE_TAPS.
template <typename In, int NC>
__device__ __forceinline__ void x_rows_any(const unsigned char* line, int line_bytes,
                                           int rows, int row0, const int* index,
                                           const float* weight, int count, int first,
                                           unsigned char* mid_col) {
    typedef Vec<In, Padded<NC>::n> InPixel;
    typedef Vec<float, Padded<NC>::n> MidPixel;
    for (int rr = row0; rr < rows; rr += TILE_ROWS) {
        const InPixel* px = (const InPixel*)(line + rr * line_bytes);
        float ref[NC], acc[NC];
        lift_pixel<In, NC>(px[index[0] - first], ref);
#pragma unroll
        for (int c = 0; c < NC; ++c) acc[c] = ref[c] - LIFT;
        for (int k = 1; k < count; ++k) {
            float v[NC];
            lift_pixel<In, NC>(px[index[k] - first], v);
#pragma unroll
            for (int c = 0; c < NC; ++c) acc[c] = fused(weight[k], v[c] - ref[c], acc[c]);
        }
        MidPixel m;
#pragma unroll
        for (int c = 0; c < Padded<NC>::n; ++c) m.c[c] = c < NC ? acc[c] : 0.0f;
        *(MidPixel*)(mid_col + rr * TILE * sizeof(MidPixel)) = m;
    }
}

// One output pixel of the y pass from a table row in shared memory, any count.
template <int NC>
__device__ __forceinline__ void y_one(const unsigned char* mid_col, const TileTap* taps,
                                      int count, float* acc) {
    Vec<float, Padded<NC>::n> p0 = mid_at<NC>(mid_col, taps[0].index);
    float base[NC];
#pragma unroll
    for (int c = 0; c < NC; ++c) acc[c] = base[c] = p0.c[c];
    for (int k = 1; k < count; ++k) {
        TileTap e = taps[k];
        Vec<float, Padded<NC>::n> p = mid_at<NC>(mid_col, e.index);
#pragma unroll
        for (int c = 0; c < NC; ++c) acc[c] = fused(e.weight, p.c[c] - base[c], acc[c]);
    }
}

// Two output rows at once, N taps each on consecutive rows, the second's S rows below the
// first's (index1[k] = index0[k + S] = index0[0] + k + S): the N + S rows they read are each
// loaded once (at the first's address plus constants) and added to both sums as they come,
// each sum in its own taps' order.  In the columns of mid_col and Y_COLUMN_STEP bytes on
// (the thread's two columns: the table rows and the addresses serve both): acc[column][row].
#define Y_COLUMN_STEP (TILE / 2)                // the second column of a y-pass thread
template <int NC, int N, int S>
__device__ __forceinline__ void y_pair(const unsigned char* mid_col, const TileTap* t0,
                                       const TileTap* t1, float (*acc)[2][NC]) {
    float base[2][2][NC];
    const unsigned char* first = mid_col + t0[0].index;
    const int pixel = (int)sizeof(Vec<float, Padded<NC>::n>);
#pragma unroll
    for (int r = 0; r < N + S; ++r) {
#pragma unroll
        for (int col = 0; col < 2; ++col) {
            Vec<float, Padded<NC>::n> p =
                mid_at<NC>(first, r * TILE * pixel + col * Y_COLUMN_STEP * pixel);
            float* a0 = acc[col][0];
            float* a1 = acc[col][1];
#pragma unroll
            for (int c = 0; c < NC; ++c) {
                if (r == 0) a0[c] = base[col][0][c] = p.c[c];
                else if (r < N) a0[c] = fused(t0[r].weight, p.c[c] - base[col][0][c], a0[c]);
                if (r == S) a1[c] = base[col][1][c] = p.c[c];
                else if (r > S) a1[c] = fused(t1[r - S].weight, p.c[c] - base[col][1][c], a1[c]);
            }
        }
    }
}

template <typename In, typename Out, int NC>
__device__ __forceinline__ void tiled_fast(
        const In* __restrict__ src, Out* __restrict__ dst, long long cols_in,
        long long cols_out, TABLE_PARAMS(float, y_), TABLE_PARAMS(float, x_),
        const TileGeometry& g, unsigned char* smem) {
    typedef Vec<In, Padded<NC>::n> InPixel;
    typedef Vec<float, Padded<NC>::n> MidPixel;
    TileTap* y_taps = (TileTap*)smem;                      // [TILE_ROWS_MAX][TILE_TAPS]
    int* y_counts = (int*)(y_taps + TILE_ROWS_MAX * TILE_TAPS);    // [TILE_ROWS_MAX]
    int* y_shift = y_counts + TILE_ROWS_MAX;               // [TILE_ROWS_MAX / 2]: -1 or S
    InPixel* in_s = (InPixel*)(smem + FAST_TABLE_BYTES);   // [nr][nc]
    unsigned char* mid = smem + fast_tile_bytes<In, NC>(g)
                         - (long long)g.nr * TILE * sizeof(MidPixel);   // [nr][TILE]
    const int t = threadIdx.x, lane = t % TILE, row0 = t / TILE;
    const int mid_row = TILE * sizeof(MidPixel);

    // The tile's y table rows (indices as byte offsets of x-pass rows), which pairs of rows
    // y_pair can take, and the footprint: a warp a row, a thread a pixel.
    if (t < g.n_r) {
        long long o = g.r0 + t;
        int count = y_count[o];
        y_counts[t] = count;
#pragma unroll
        for (int k = 0; k < TILE_TAPS; ++k) {
            TileTap e = {0, 0.0f};
            if (k < count)
                e = {(y_index[o * y_width + k] - g.r_lo) * mid_row, y_weight[o * y_width + k]};
            y_taps[t * TILE_TAPS + k] = e;
        }
    } else if (t >= TILE_ROWS_MAX && t < TILE_ROWS_MAX + TILE_ROWS_MAX / 2) {
        int pair = t - TILE_ROWS_MAX, shift = -1;
        long long o = g.r0 + 2 * pair;
        if (2 * pair + 1 < g.n_r && y_count[o] == y_count[o + 1]) {
            int n = y_count[o];
            const int* i0 = y_index + o * y_width;
            const int* i1 = i0 + y_width;
            bool runs = n == 2 || n == 3 || n == 4 || n == 6;    // consecutive rows
            for (int k = 1; k < n && runs; ++k) runs = i0[k] == i0[0] + k && i1[k] == i1[0] + k;
            for (int s = 0; s <= 1 && runs && shift < 0; ++s)
                if (i1[0] == i0[0] + s) shift = s;
        }
        y_shift[pair] = shift;
    }
    for (int rr = row0; rr < g.nr; rr += TILE_ROWS) {
        const In* line = src + ((long long)(g.r_lo + rr) * cols_in + g.c_lo) * NC;
        for (int cc = lane; cc < g.nc; cc += TILE) {
            InPixel v;
#pragma unroll
            for (int c = 0; c < Padded<NC>::n; ++c) v.c[c] = c < NC ? line[cc * NC + c] : In(0);
            in_s[rr * g.nc + cc] = v;
        }
    }
    __syncthreads();

    // The x pass: the thread's output column down the footprint rows.
    unsigned char* mid_col = mid + lane * sizeof(MidPixel);
    if (lane < g.n_c) {
        long long o = g.o0 + lane;
        int count = x_count[o];
        const int* index = x_index + o * x_width;
        bool runs = true;                               // consecutive pixels
        for (int k = 1; k < count && runs; ++k) runs = index[k] == index[0] + k;
        const unsigned char* line = (const unsigned char*)in_s;
        int line_bytes = g.nc * (int)sizeof(InPixel);
        const float* weight = x_weight + o * x_width;
#define X_ROWS(N) x_rows<In, NC, N>(line, line_bytes, g.nr, row0, index, weight, g.c_lo, mid_col)
        switch (runs ? count : 0) {
            case 1: X_ROWS(1); break;
            case 2: X_ROWS(2); break;
            case 3: X_ROWS(3); break;
            case 4: X_ROWS(4); break;
            case 5: X_ROWS(5); break;
            case 6: X_ROWS(6); break;
            case 7: X_ROWS(7); break;
            case 8: X_ROWS(8); break;
            default:
                x_rows_any<In, NC>(line, line_bytes, g.nr, row0, index, weight, count, g.c_lo,
                                   mid_col);
        }
#undef X_ROWS
    }
    __syncthreads();

    // The y pass: a thread a pair of output rows in two columns, lane and lane + 16 (the
    // table rows broadcast to the 16 threads of a pair; two pairs a warp).
    const int half = t % Y_COLUMN_STEP, group = t / Y_COLUMN_STEP;
    const int groups = TILED_THREADS / Y_COLUMN_STEP;
    if (half >= g.n_c) return;
    const bool second = half + Y_COLUMN_STEP < g.n_c;
    const unsigned char* y_col = mid + half * sizeof(MidPixel);
    Out* q = dst + ((long long)(g.r0 + 2 * group) * cols_out + g.o0 + half) * NC;
    const long long pair_step = 2 * groups * cols_out * NC;
    for (int pair = group; 2 * pair < g.n_r; pair += groups, q += pair_step) {
        const TileTap* t0 = y_taps + 2 * pair * TILE_TAPS;
        const TileTap* t1 = t0 + TILE_TAPS;
        const bool both = 2 * pair + 1 < g.n_r;
        float acc[2][2][NC];
        int shift = y_shift[pair];
        int key = shift < 0 ? 0 : y_counts[2 * pair] * 2 + shift;
#define Y_PAIR(N, S) case N * 2 + S: y_pair<NC, N, S>(y_col, t0, t1, acc); break;
        switch (key) {
            Y_PAIR(2, 0) Y_PAIR(2, 1) Y_PAIR(3, 0) Y_PAIR(3, 1)
            Y_PAIR(4, 0) Y_PAIR(4, 1) Y_PAIR(6, 0) Y_PAIR(6, 1)
            default:
#pragma unroll
                for (int col = 0; col < 2; ++col) {
                    const unsigned char* at = y_col + col * Y_COLUMN_STEP * sizeof(MidPixel);
                    y_one<NC>(at, t0, y_counts[2 * pair], acc[col][0]);
                    if (both) y_one<NC>(at, t1, y_counts[2 * pair + 1], acc[col][1]);
                }
        }
#undef Y_PAIR
        store_pixel<Out, NC>(q, acc[0][0]);
        if (both) store_pixel<Out, NC>(q + cols_out * NC, acc[0][1]);
        if (second) {
            store_pixel<Out, NC>(q + Y_COLUMN_STEP * NC, acc[1][0]);
            if (both) store_pixel<Out, NC>(q + cols_out * NC + Y_COLUMN_STEP * NC, acc[1][1]);
        }
    }
}

// Any type and channel count: the footprint in the work type, tables from global memory.
template <typename In, typename Out, typename W>
__device__ __forceinline__ void tiled_general(
        const In* __restrict__ src, Out* __restrict__ dst, long long cols_in,
        long long cols_out, int n_ch, TABLE_PARAMS(W, y_), TABLE_PARAMS(W, x_),
        const TileGeometry& g, W fill, W lo, W hi, int rounding, W* smem) {
    long long in_words = (long long)g.nr * g.nc * n_ch, row_words = (long long)g.n_c * n_ch;
    W* in_s = smem;
    W* rows_s = smem + in_words;
    long long line = (long long)g.nc * n_ch;
    for (long long k = threadIdx.x; k < in_words; k += blockDim.x) {
        long long rest;
        long long rr = divide(k, line, &rest);
        in_s[k] = (W)src[(g.r_lo + rr) * cols_in * n_ch + (long long)g.c_lo * n_ch + rest];
    }
    __syncthreads();
    for (int k = threadIdx.x; k < g.nr * g.n_c; k += blockDim.x) {
        int rr = k / g.n_c, oc = k - rr * g.n_c;
        long long o = g.o0 + oc;
        for (int c0 = 0; c0 < n_ch; c0 += PIXEL_CHANNELS) {
            int ncs = n_ch - c0 < PIXEL_CHANNELS ? n_ch - c0 : PIXEL_CHANNELS;
            W v[PIXEL_CHANNELS];
            apply_taps_pixel(in_s + rr * line + c0, n_ch, x_index + o * x_width, g.c_lo,
                             x_weight + o * x_width, x_count[o], x_fill_weight[o], fill, ncs,
                             v);
#pragma unroll
            for (int c = 0; c < PIXEL_CHANNELS; ++c)
                if (c < ncs) rows_s[rr * row_words + oc * n_ch + c0 + c] = v[c];
        }
    }
    __syncthreads();
    for (int k = threadIdx.x; k < g.n_r * g.n_c; k += blockDim.x) {
        int orr = k / g.n_c, oc = k - orr * g.n_c;
        long long o = g.r0 + orr;
        for (int c0 = 0; c0 < n_ch; c0 += PIXEL_CHANNELS) {
            int ncs = n_ch - c0 < PIXEL_CHANNELS ? n_ch - c0 : PIXEL_CHANNELS;
            W v[PIXEL_CHANNELS];
            apply_taps_pixel(rows_s + oc * n_ch + c0, row_words, y_index + o * y_width, g.r_lo,
                             y_weight + o * y_width, y_count[o], y_fill_weight[o], fill, ncs,
                             v);
#pragma unroll
            for (int c = 0; c < PIXEL_CHANNELS; ++c)
                if (c < ncs)
                    dst[(o * cols_out + g.o0 + oc) * n_ch + c0 + c] =
                        store_out<Out, W>(v[c], lo, hi, rounding);
        }
    }
}

template <typename In, typename Out, typename W>
__device__ __forceinline__ void tiled_pass(
        const In* __restrict__ src, Out* __restrict__ dst, long long cols_in,
        long long rows_out, long long cols_out, int n_ch, TABLE_PARAMS(W, y_),
        TABLE_PARAMS(W, x_), const int* __restrict__ y_span, const int* __restrict__ x_span,
        W fill, W lo, W hi, int rounding, int fast, int tile_rows) {
    __shared__ __align__(16) unsigned char smem[TILE_BYTES];
    TileGeometry g = tile_geometry(rows_out, cols_out, tile_rows, y_span, x_span);
    if constexpr (sizeof(W) == 4 && sizeof(In) <= 2) {     // (float images spill with it)
#define TILED_FAST(NC)                                                                         \
        if (n_ch == NC && fast_tile_bytes<In, NC>(g) <= TILE_BYTES) {                          \
            tiled_fast<In, Out, NC>(src, dst, cols_in, cols_out, y_index, y_weight, y_count,   \
                                    y_fill_weight, y_width, x_index, x_weight, x_count,        \
                                    x_fill_weight, x_width, g, smem);                          \
            return;                                                                            \
        }
        if (fast) {
            TILED_FAST(1)
            TILED_FAST(2)
            TILED_FAST(3)
            TILED_FAST(4)
        }
#undef TILED_FAST
    }
    long long in_words = (long long)g.nr * g.nc * n_ch, row_words = (long long)g.n_c * n_ch;
    if ((in_words + g.nr * row_words) * (long long)sizeof(W) <= TILE_BYTES) {
        tiled_general<In, Out, W>(src, dst, cols_in, cols_out, n_ch, y_index, y_weight,
                                  y_count, y_fill_weight, y_width, x_index, x_weight, x_count,
                                  x_fill_weight, x_width, g, fill, lo, hi, rounding, (W*)smem);
        return;
    }
    for (int k = threadIdx.x; k < g.n_r * g.n_c; k += blockDim.x) {   // too wide: gather
        long long ty = g.r0 + k / g.n_c, tx = g.o0 + k % g.n_c;
        gather_pixel<In, Out, W>(src, dst, ty * cols_out + tx, ty, tx, cols_in, n_ch, y_index,
                                 y_weight, y_count, y_fill_weight, y_width, x_index, x_weight,
                                 x_count, x_fill_weight, x_width, fill, lo, hi, rounding);
    }
}

// extern "C" entry points, one per (input, output) type pair: NAME_IN_OUT.
#define RESAMPLE_ENTRY_POINTS(SUFFIX, IN, OUT, W, MIN_BLOCKS)                                  \
extern "C" __global__ void BLOCKS_BOUNDS(MIN_BLOCKS) cols_##SUFFIX(                             \
        const IN* src, OUT* dst, long long n_rows, long long cols_in, long long cols_out,      \
        int n_ch, TABLE_PARAMS(W, ), W fill, W lo, W hi, int rounding) {                       \
    cols_pass<IN, OUT, W>(src, dst, n_rows, cols_in, cols_out, n_ch, index, weight, count,    \
                          fill_weight, width, fill, lo, hi, rounding);                         \
}                                                                                              \
extern "C" __global__ void LAUNCH_BOUNDS rows_##SUFFIX(                                         \
        const IN* src, OUT* dst, long long rows_out, long long row_size, TABLE_PARAMS(W, ),    \
        W fill, W lo, W hi, int rounding) {                                                    \
    rows_pass<IN, OUT, W>(src, dst, rows_out, row_size, index, weight, count, fill_weight,    \
                          width, fill, lo, hi, rounding);                                      \
}                                                                                              \
extern "C" __global__ void BLOCKS_BOUNDS(MIN_BLOCKS) gather_##SUFFIX(                           \
        const IN* src, OUT* dst, long long n_points, long long cols_out, long long cols,       \
        int n_ch, TABLE_PARAMS(W, y_), TABLE_PARAMS(W, x_), W fill, W lo, W hi,                \
        int rounding) {                                                                        \
    gather_pass<IN, OUT, W>(src, dst, n_points, cols_out, cols, n_ch, y_index, y_weight,      \
                            y_count, y_fill_weight, y_width, x_index, x_weight, x_count,       \
                            x_fill_weight, x_width, fill, lo, hi, rounding);                   \
}

// The tiled resize, from an image's type to itself.
#define TILED_ENTRY_POINT(SUFFIX, T, W, MIN_BLOCKS)                                            \
extern "C" __global__ void TILED_BOUNDS(MIN_BLOCKS) tiled_##SUFFIX(                           \
        const T* src, T* dst, long long cols_in, long long rows_out, long long cols_out,       \
        int n_ch, TABLE_PARAMS(W, y_), TABLE_PARAMS(W, x_), const int* y_span,                 \
        const int* x_span, W fill, W lo, W hi, int rounding, int fast, int tile_rows) {        \
    tiled_pass<T, T, W>(src, dst, cols_in, rows_out, cols_out, n_ch, y_index, y_weight,       \
                        y_count, y_fill_weight, y_width, x_index, x_weight, x_count,           \
                        x_fill_weight, x_width, y_span, x_span, fill, lo, hi, rounding, fast,  \
                        tile_rows);                                                            \
}
// (Bounds: TILED_THREADS (128) threads, and at least 5 blocks an SM for 8/16-bit images (96
// registers: tiled_fast's unrolled sums of two rows in two columns spill at 80), 7 for float
// ones (73; shared memory allows 7) and 4 for double (128).)
TILED_ENTRY_POINT(u8_u8, unsigned char, float, 5)
TILED_ENTRY_POINT(u16_u16, unsigned short, float, 5)
TILED_ENTRY_POINT(f32_f32, float, float, 7)
TILED_ENTRY_POINT(f64_f64, double, double, 4)

// (The gathers and column passes of float work are held to at least 4 blocks an SM, 64
// registers: left to itself ptxas kept some at 48 or 40 registers and spilled.)
// First passes read the image's type into the work type; second passes store it back; the
// one-pass resize and point sampling go from the image's type to itself.
RESAMPLE_ENTRY_POINTS(u8_f32, unsigned char, float, float, 4)
RESAMPLE_ENTRY_POINTS(f32_u8, float, unsigned char, float, 4)
RESAMPLE_ENTRY_POINTS(u8_u8, unsigned char, unsigned char, float, 4)
RESAMPLE_ENTRY_POINTS(u16_f32, unsigned short, float, float, 4)
RESAMPLE_ENTRY_POINTS(f32_u16, float, unsigned short, float, 4)
RESAMPLE_ENTRY_POINTS(u16_u16, unsigned short, unsigned short, float, 4)
RESAMPLE_ENTRY_POINTS(f32_f32, float, float, float, 4)
RESAMPLE_ENTRY_POINTS(f64_f64, double, double, double, 1)

// ---- Gaussian mixtures (docs/conventions.md): every point i is a Gaussian of sigma (sx_i, sy_i);
// pixel q (x = column, y = row) is sum_i w_i(q) v_i / sum_i w_i(q), with
// w_i(q) = exp(-r2 / 2) / (2 pi sx_i sy_i) where r2 = ((x - x_i)/sx_i)^2 + ((y - y_i)/sy_i)^2
// <= cutoff^2, else 0.  Accumulators are planes: acc (C, H, W) and z (H, W).

#define SPLAT_TILE 32           // the binned splat's tiles: SPLAT_TILE x SPLAT_TILE pixels

// Adds a weight w of a point of values v at pixel q: to z and w v to the channels, in planes
// (packed == 0: z[q] and acc[c * plane + q]; a tile's in shared memory, or the image's for
// more than 3 channels) or packed (acc[q * packed + c] for the channels, then the weight at
// c = n_ch, packed = 2 or 4: one vector atomic a pixel for float32 on sm_90, where planes
// take n_ch + 1).
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900 && \
    (__CUDACC_VER_MAJOR__ > 12 || __CUDACC_VER_MAJOR__ == 12 && __CUDACC_VER_MINOR__ >= 1) || \
    defined(RESAMPLE_SHIM)                       // (NVRTC 12.0 declares no vector atomics)
#define VECTOR_ATOMICS 1
#else
#define VECTOR_ATOMICS 0
#endif
template <typename W, typename I, bool PACKED>
__device__ __forceinline__ void splat_add(W* acc, W* z, I q, I plane, int packed, int n_ch, W w,
                                          const W* __restrict__ v) {
    if constexpr (!PACKED) {
        atomicAdd(z + q, w);
        for (int ch = 0; ch < n_ch; ++ch) atomicAdd(acc + ch * plane + q, w * v[ch]);
    } else {
        W* px = acc + q * packed;
#if VECTOR_ATOMICS
        if constexpr (sizeof(W) == 4) {
            float first = w * v[0];             // (the parts by selects: no local array)
            if (packed == 2) {
                atomicAdd((float2*)px, make_float2(first, w));
            } else {
                float second = w * v[1], third = n_ch == 3 ? w * v[2] : w;
                atomicAdd((float4*)px, make_float4(first, second, third, n_ch == 3 ? w : 0.0f));
            }
        } else
#endif
        {
            for (int ch = 0; ch < n_ch; ++ch) atomicAdd(px + ch, w * v[ch]);
            atomicAdd(px + n_ch, w);
        }
    }
}

// Forward: point p adds its footprint, clipped to rows [r_lo, r_hi) and columns
// [c_lo, c_hi), into planes (C of acc, then z) whose pixel (r, c) is at
// (r - r_org) * row + (c - c_org), a plane apart: the whole image's planes in global
// memory (one thread per point, atomically: footprints overlap), or a tile's in shared
// memory.  Steered Gaussians (theta, common/gaussians.h's footprint_steered): with theta = 0
// the weight is exp(-dy^2/2) for the row times exp(-dx^2/2) for the column.
template <typename W, typename I, bool PACKED>
__device__ __forceinline__ void gmm_splat_clipped(
        long long p, const double* __restrict__ xy, const W* __restrict__ values,
        const double* __restrict__ sx, const double* __restrict__ sy,
        const double* __restrict__ theta, int n_ch, double cutoff, long long height,
        long long width, long long r_lo, long long r_hi, long long c_lo, long long c_hi,
        W* acc, W* z, long long r_org, long long c_org, I row, I plane, int packed) {
    // I: the type of offsets into the planes (int for a tile's in shared memory); packed:
    // the layout of acc and z (splat_add).
    double x = xy[2 * p], y = xy[2 * p + 1], ax = sx[p], ay = sy[p], th = theta[p];
    double cs = th != 0.0 ? cos(th) : 1.0, sn = th != 0.0 ? sin(th) : 0.0;
    double cut2 = cutoff * cutoff;
    Footprint f = footprint_steered(x, y, ax, ay, cs, sn, cutoff, height, width);
    long long r0 = f.r0 > r_lo ? f.r0 : r_lo, r1 = f.r1 < r_hi - 1 ? f.r1 : r_hi - 1;
    long long c0 = f.c0 > c_lo ? f.c0 : c_lo, c1 = f.c1 < c_hi - 1 ? f.c1 : c_hi - 1;
    if (r1 < r0 || c1 < c0) return;
    // The footprint's first pixel and its size, as offsets of type I.
    const I q0 = (I)(r0 - r_org) * row + (I)(c0 - c_org);
    const W* v = values + p * n_ch;
    const int rows = (int)(r1 - r0), cols = (int)(c1 - c0);
    if (sn == 0.0 && cs == 1.0 && cols < SPLAT_TILE) {
        // Not rotated: the weight is a row's factor times a column's, exponentials in the
        // work type, one a row and one a column (not one a pixel).  A row's pixels within the
        // cutoff (ux^2 + uy^2 <= cutoff^2, each square rounded once, the sum once: the same
        // test on every device) are a run, as ux^2 falls then rises along the row: its ends
        // are found by that test, and the pixels between take no test and no FP64.
        W ex[SPLAT_TILE];
        double ux2[SPLAT_TILE];
        for (int j = 0; j <= cols; ++j) {
            double ux = ((double)(c0 + j) - x) / ax;
            ux2[j] = ux * ux;
            ex[j] = exp(W(-0.5) * (W)ux2[j]);
        }
        for (int i = 0; i <= rows; ++i) {
            double uy = ((double)(r0 + i) - y) / ay;
            double uy2 = uy * uy;
            W ey = (W)f.norm * exp(W(-0.5) * (W)uy2);
            int lo = 0, hi = cols;
            while (lo <= hi && ux2[lo] + uy2 > cut2) ++lo;
            while (hi >= lo && ux2[hi] + uy2 > cut2) --hi;
            for (int j = lo; j <= hi; ++j)
                splat_add<W, I, PACKED>(acc, z, q0 + (I)i * row + j, plane, packed, n_ch,
                                        ey * ex[j], v);
        }
        return;
    }
    for (int i = 0; i <= rows; ++i) {
        double dy = (double)(r0 + i) - y;
        for (int j = 0; j <= cols; ++j) {
            double dx = (double)(c0 + j) - x;
            double eu = (cs * dx + sn * dy) / ax, ev = (cs * dy - sn * dx) / ay;
            double r2 = eu * eu + ev * ev;
            if (r2 > cut2) continue;
            splat_add<W, I, PACKED>(acc, z, q0 + (I)i * row + j, plane, packed, n_ch,
                                    (W)(f.norm * exp(-0.5 * r2)), v);
        }
    }
}

// The whole footprint of a thread's point into the image's planes.
template <typename W>
__device__ __forceinline__ void gmm_splat_point(
        const double* __restrict__ xy, const W* __restrict__ values,
        const double* __restrict__ sx, const double* __restrict__ sy,
        const double* __restrict__ theta, long long n_points, int n_ch, double cutoff,
        W* __restrict__ acc, W* __restrict__ z, long long height, long long width, int packed) {
    long long p = thread_index();
    if (p >= n_points) return;
    if (packed)
        gmm_splat_clipped<W, long long, true>(p, xy, values, sx, sy, theta, n_ch, cutoff,
                                              height, width, 0, height, 0, width, acc, z, 0, 0,
                                              width, height * width, packed);
    else
        gmm_splat_clipped<W, long long, false>(p, xy, values, sx, sy, theta, n_ch, cutoff,
                                               height, width, 0, height, 0, width, acc, z, 0,
                                               0, width, height * width, 0);
}

// Points binned by tile (SPLAT_TILE x SPLAT_TILE pixels): the tile of a point's centre
// (clamped into the image), or n_tiles for a point whose footprint's box is wider or taller
// than a tile (those are splatted by gmm_splat_*).  A box at most a tile wide lies within
// the 3 x 3 tiles around its centre's.
__device__ __forceinline__ long long gmm_tile_of(
        long long p, const double* __restrict__ xy, const double* __restrict__ sx,
        const double* __restrict__ sy, const double* __restrict__ theta, double cutoff,
        long long height, long long width) {
    double x = xy[2 * p], y = xy[2 * p + 1], th = theta[p];
    double cs = th != 0.0 ? cos(th) : 1.0, sn = th != 0.0 ? sin(th) : 0.0;
    Footprint f = footprint_steered(x, y, sx[p], sy[p], cs, sn, cutoff, height, width);
    long long across = (width + SPLAT_TILE - 1) / SPLAT_TILE;
    long long down = (height + SPLAT_TILE - 1) / SPLAT_TILE;
    if (f.r1 - f.r0 >= SPLAT_TILE || f.c1 - f.c0 >= SPLAT_TILE) return across * down;
    double tr = floor(y / SPLAT_TILE), tc = floor(x / SPLAT_TILE);
    long long ti = (long long)fmin(fmax(tr, 0.0), (double)(down - 1));
    long long tj = (long long)fmin(fmax(tc, 0.0), (double)(across - 1));
    return ti * across + tj;
}

// A block per tile: the points of the 3 x 3 tiles around it (sorted by tile, ``start`` the
// first of each tile's) add what of their footprints falls in this tile to its planes in
// shared memory (SPLAT_TILE^2 pixels, n_ch + 1 <= 5 planes); then the block stores its tile
// in the image's layout (splat_add's packed), which no other block writes (the wide points
// are added atomically afterwards).
template <typename W>
__device__ __forceinline__ void gmm_splat_tile(
        const double* __restrict__ xy, const W* __restrict__ values,
        const double* __restrict__ sx, const double* __restrict__ sy,
        const double* __restrict__ theta, const long long* __restrict__ start, int n_ch,
        double cutoff, W* __restrict__ acc, W* __restrict__ z, long long height,
        long long width, int packed) {
    const int pixels = SPLAT_TILE * SPLAT_TILE;
    __shared__ W tile[5 * SPLAT_TILE * SPLAT_TILE];
    long long across = (width + SPLAT_TILE - 1) / SPLAT_TILE;
    long long down = (height + SPLAT_TILE - 1) / SPLAT_TILE;
    long long tj;
    long long ti = divide(blockIdx.x, across, &tj);
    long long r_lo = ti * SPLAT_TILE, c_lo = tj * SPLAT_TILE;
    long long r_hi = r_lo + SPLAT_TILE < height ? r_lo + SPLAT_TILE : height;
    long long c_hi = c_lo + SPLAT_TILE < width ? c_lo + SPLAT_TILE : width;
    for (int k = threadIdx.x; k < (n_ch + 1) * pixels; k += blockDim.x) tile[k] = W(0);
    __syncthreads();
    for (long long di = -1; di <= 1; ++di) {
        for (long long dj = -1; dj <= 1; ++dj) {
            long long ni = ti + di, nj = tj + dj;
            if (ni < 0 || nj < 0 || ni >= down || nj >= across) continue;
            long long t = ni * across + nj;
            for (long long p = start[t] + threadIdx.x; p < start[t + 1]; p += blockDim.x)
                gmm_splat_clipped<W, int, false>(p, xy, values, sx, sy, theta, n_ch, cutoff,
                                                 height, width, r_lo, r_hi, c_lo, c_hi,
                                                 tile + pixels, tile, r_lo, c_lo, SPLAT_TILE,
                                                 pixels, 0);
        }
    }
    __syncthreads();
    long long plane = height * width;
    int cols = (int)(c_hi - c_lo);
    for (int k = threadIdx.x; k < (r_hi - r_lo) * cols; k += blockDim.x) {
        int rr = k / cols, cc = k - rr * cols;
        long long q = (r_lo + rr) * width + c_lo + cc, s = rr * SPLAT_TILE + cc;
        if (packed) {
            for (int ch = 0; ch < n_ch; ++ch) acc[q * packed + ch] = tile[pixels + ch * pixels + s];
            acc[q * packed + n_ch] = tile[s];
        } else {
            z[q] = tile[s];
            for (int ch = 0; ch < n_ch; ++ch) acc[ch * plane + q] = tile[pixels + ch * pixels + s];
        }
    }
}

extern "C" __global__ void LAUNCH_BOUNDS gmm_bin(
        const double* xy, const double* sx, const double* sy, const double* theta,
        long long n_points, double cutoff, long long height, long long width, int* tile) {
    long long p = thread_index();
    if (p < n_points) tile[p] = (int)gmm_tile_of(p, xy, sx, sy, theta, cutoff, height, width);
}

#define GMM_ENTRY_POINTS(SUFFIX, W)                                                            \
extern "C" __global__ void LAUNCH_BOUNDS_2 gmm_splat_##SUFFIX(                                  \
        const double* xy, const W* values, const double* sx, const double* sy,                 \
        const double* theta, long long n_points, int n_ch, double cutoff, W* acc, W* z,        \
        long long height, long long width, int packed) {                                       \
    gmm_splat_point<W>(xy, values, sx, sy, theta, n_points, n_ch, cutoff, acc, z, height,      \
                       width, packed);                                                         \
}                                                                                              \
extern "C" __global__ void BLOCKS_BOUNDS(3) gmm_splat_tiles_##SUFFIX(                             \
        const double* xy, const W* values, const double* sx, const double* sy,                 \
        const double* theta, const long long* start, int n_ch, double cutoff, W* acc, W* z,    \
        long long height, long long width, int packed) {                                       \
    gmm_splat_tile<W>(xy, values, sx, sy, theta, start, n_ch, cutoff, acc, z, height, width,  \
                      packed);                                                                 \
}                                                                                              \
extern "C" __global__ void LAUNCH_BOUNDS gmm_normalise_##SUFFIX(                               \
        const W* acc, const W* z, W* out, long long n_pixels, int n_ch) {                      \
    long long q = thread_index();                                                              \
    if (q < n_pixels) gmm_normalise_one<W>(q, acc, z, out, n_pixels, n_ch);                    \
}                                                                                              \
extern "C" __global__ void LAUNCH_BOUNDS gmm_normalise_packed_##SUFFIX(                        \
        const W* acc, W* z, W* out, long long n_pixels, int n_ch, int packed) {                \
    long long q = thread_index();                                                              \
    if (q >= n_pixels) return;                                                                 \
    z[q] = acc[q * packed + n_ch];                                                             \
    gmm_normalise_at<W>(z[q], acc + q * packed, 1, out + q * n_ch, n_ch);                      \
}

GMM_ENTRY_POINTS(f32, float)
GMM_ENTRY_POINTS(f64, double)

// Backward: one thread per point gathers over its footprint (common/gaussians.h).
// (No launch bounds: with them ptxas squeezes it to spilling; see tests/engines/test_gpu_compile.py.)
extern "C" __global__ void gmm_vjp_f64(
        const double* xy, const double* values, const double* sx, const double* sy,
        const double* theta, long long n_points, int n_ch, double cutoff, const double* grad,
        const double* colour, const double* z, long long height, long long width, double* d_xy,
        double* d_values, double* d_sx, double* d_sy, double* d_theta) {
    long long p = thread_index();
    if (p < n_points)
        gmm_vjp_one(p, xy, values, sx, sy, theta, n_ch, cutoff, grad, colour, z, height, width,
                    d_xy, d_values, d_sx, d_sy, d_theta, nullptr);
}


// ---- Nearest points through resample/gmm.py's PointGrid (knn_one), and the contrast of a
// point's values with its neighbours' (contrast_one): one thread per query or point.
extern "C" __global__ void LAUNCH_BOUNDS knn_grid(
        const double* __restrict__ cell_xy, const long long* __restrict__ order,
        const long long* __restrict__ start, double x0, double y0, double cell, long long nx,
        long long ny, const double* __restrict__ queries, long long n_queries, int k,
        int exclude_self, double* __restrict__ d2, long long* __restrict__ idx) {
    long long p = thread_index();
    if (p < n_queries)
        knn_one(p, cell_xy, order, start, x0, y0, cell, nx, ny, queries, k, exclude_self, d2,
                idx);
}

// ---- Tap tables for sampling at positions on the device (taps_one of common/taps.h, one
// thread a position; rows are not merged: the loops skip zero weights).
extern "C" __global__ void LAUNCH_BOUNDS taps_rows(const double* x, long long n_pos, long long n, int method,
                                     double support, double stretch, int boundary,
                                     long long width, long long* index, double* weight,
                                     double* fill) {
    long long p = thread_index();
    if (p < n_pos)
        taps_one(x[p], n, method, support, stretch, boundary, index + p * width,
                 weight + p * width, fill + p);
}

extern "C" __global__ void LAUNCH_BOUNDS contrast_f32(const float* values, const long long* idx, long long n,
                                        int n_ch, int n_nb, double* e) {
    long long p = thread_index();
    if (p < n) contrast_one<float>(p, values, idx, n_ch, n_nb, e);
}

extern "C" __global__ void LAUNCH_BOUNDS contrast_f64(const double* values, const long long* idx,
                                        long long n, int n_ch, int n_nb, double* e) {
    long long p = thread_index();
    if (p < n) contrast_one<double>(p, values, idx, n_ch, n_nb, e);
}


// ---- Nearest point of every pixel: the distance transform of common/distance.h, one thread a
// column (pass 1), then one thread a row (pass 2, scratch per thread: v, va, vf (width) and z
// (width + 1)).
extern "C" __global__ void LAUNCH_BOUNDS nearest_columns(const double* __restrict__ xy,
                                           const long long* __restrict__ seeds,
                                           long long height, long long width,
                                           long long* __restrict__ best) {
    long long j = thread_index();
    if (j < width) nearest_column_one(j, xy, seeds, height, width, best);
}

extern "C" __global__ void LAUNCH_BOUNDS nearest_rows(const double* __restrict__ xy,
                                        const long long* __restrict__ best,
                                        long long height, long long width,
                                        long long* __restrict__ nearest,
                                        long long* __restrict__ v_all,
                                        double* __restrict__ a_all,
                                        double* __restrict__ f_all,
                                        double* __restrict__ z_all) {
    long long i = thread_index();
    if (i >= height) return;
    nearest_row_one(i, xy, best, width, nearest, v_all + i * width, a_all + i * width,
                    f_all + i * width, z_all + i * (width + 1));
}
