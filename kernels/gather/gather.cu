// Point sampling on the GPU: each output pixel or point gathers its taps along both axes
// (gather_pixel, which the tiled resize also uses), and the tap tables of positions made on
// the device (taps_rows).
//
// A part of the GPU engine's one CUDA module: kernels/resample.cu includes it after
// kernels/common/ (and the parts it names), so it has no includes of its own.

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

// extern "C" entry points, one per (input, output) type pair: gather_IN_OUT (the same pairs
// as the resize passes'; point sampling goes from the image's type to itself).
#define GATHER_ENTRY_POINT(SUFFIX, IN, OUT, W, MIN_BLOCKS)                                     \
extern "C" __global__ void BLOCKS_BOUNDS(MIN_BLOCKS) gather_##SUFFIX(                           \
        const IN* src, OUT* dst, long long n_points, long long cols_out, long long cols,       \
        int n_ch, TABLE_PARAMS(W, y_), TABLE_PARAMS(W, x_), W fill, W lo, W hi,                \
        int rounding) {                                                                        \
    gather_pass<IN, OUT, W>(src, dst, n_points, cols_out, cols, n_ch, y_index, y_weight,      \
                            y_count, y_fill_weight, y_width, x_index, x_weight, x_count,       \
                            x_fill_weight, x_width, fill, lo, hi, rounding);                   \
}
GATHER_ENTRY_POINT(u8_f32, unsigned char, float, float, 4)
GATHER_ENTRY_POINT(f32_u8, float, unsigned char, float, 4)
GATHER_ENTRY_POINT(u8_u8, unsigned char, unsigned char, float, 4)
GATHER_ENTRY_POINT(u16_f32, unsigned short, float, float, 4)
GATHER_ENTRY_POINT(f32_u16, float, unsigned short, float, 4)
GATHER_ENTRY_POINT(u16_u16, unsigned short, unsigned short, float, 4)
GATHER_ENTRY_POINT(f32_f32, float, float, float, 4)
GATHER_ENTRY_POINT(f64_f64, double, double, double, 1)

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

// The same without antialiasing, with each weight's derivative with respect to the position
// (taps_slopes_one of common/taps.h): for the gradients of point sampling with respect to the
// points.
extern "C" __global__ void LAUNCH_BOUNDS taps_slopes_rows(const double* x, long long n_pos,
                                     long long n, int method, double support, int boundary,
                                     long long width, long long* index, double* weight,
                                     double* slope, double* fill, double* fill_slope) {
    long long p = thread_index();
    if (p < n_pos)
        taps_slopes_one(x[p], n, method, support, boundary, index + p * width,
                        weight + p * width, slope + p * width, fill + p, fill_slope + p);
}

// ---- The gradient of point sampling (common/sampling.h's gather_vjp_point), a thread a
// point: the image's by atomic adds, the positions' by each thread.  The tables are the
// device's (taps_slopes_rows, every row full width: count = width); want_src and want_pos
// say which gradients are wanted (the others' arrays are not touched).
struct AtomicAdd {
    template <typename T>
    __device__ __forceinline__ void operator()(T* address, T value) const {
        atomicAdd(address, value);
    }
};

#define GATHER_VJP_ENTRY_POINT(NAME, T)                                                          \
extern "C" __global__ void LAUNCH_BOUNDS gather_vjp_##NAME(                                     \
        const T* src, long long n_points, long long cols, long long n_ch,                         \
        const long long* y_index, const double* y_weight, const double* y_slope,                  \
        const long long* y_count, const double* y_fill, const double* y_fill_slope,              \
        long long y_width, const long long* x_index, const double* x_weight,                     \
        const double* x_slope, const long long* x_count, const double* x_fill,                   \
        const double* x_fill_slope, long long x_width, double fill, const T* grad, T* d_src,    \
        double* d_pos, int want_src, int want_pos) {                                             \
    long long p = thread_index();                                                                 \
    if (p >= n_points) return;                                                                    \
    AxisTaps y = {y_index, y_weight, want_pos ? y_slope : nullptr, y_count, y_fill,               \
                  y_fill_slope, y_width};                                                         \
    AxisTaps x = {x_index, x_weight, want_pos ? x_slope : nullptr, x_count, x_fill,               \
                  x_fill_slope, x_width};                                                         \
    gather_vjp_point<T>(p, src, cols, n_ch, y, x, fill, grad, want_src ? d_src : nullptr,         \
                        want_pos ? d_pos : nullptr, AtomicAdd());                                 \
}
GATHER_VJP_ENTRY_POINT(f32, float)
GATHER_VJP_ENTRY_POINT(f64, double)
