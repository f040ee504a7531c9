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

// ---- Gaussian mixtures (DESIGN.md): every point i is a Gaussian of sigma (sx_i, sy_i);
// pixel q (x = column, y = row) is sum_i w_i(q) v_i / sum_i w_i(q), with
// w_i(q) = exp(-r2 / 2) / (2 pi sx_i sy_i) where r2 = ((x - x_i)/sx_i)^2 + ((y - y_i)/sy_i)^2
// <= cutoff^2, else 0.  Accumulators are planes: acc (C, H, W) and z (H, W).

// The pixels a point can reach (rows r0..r1, columns c0..c1, clipped to the frame) and its
// Gaussian's normalisation 1 / (2 pi sx sy).
struct Footprint {
    long long r0, r1, c0, c1;
    double norm;
};

__device__ __forceinline__ Footprint footprint(double x, double y, double ax, double ay,
                                               double cutoff, long long height,
                                               long long width) {
    Footprint f;
    f.r0 = (long long)ceil(y - cutoff * ay);
    f.r1 = (long long)floor(y + cutoff * ay);
    f.c0 = (long long)ceil(x - cutoff * ax);
    f.c1 = (long long)floor(x + cutoff * ax);
    f.r0 = f.r0 < 0 ? 0 : f.r0;
    f.c0 = f.c0 < 0 ? 0 : f.c0;
    f.r1 = f.r1 > height - 1 ? height - 1 : f.r1;
    f.c1 = f.c1 > width - 1 ? width - 1 : f.c1;
    f.norm = 1.0 / (2.0 * 3.14159265358979323846 * ax * ay);
    return f;
}

// Forward: one thread per point adds its footprint into the planes (atomically: footprints
// overlap).  The Gaussian is separable, so a row's weight is exp(-dy^2/2) times a column's.
template <typename W>
__device__ __forceinline__ void gmm_splat_point(
        const double* __restrict__ xy, const W* __restrict__ values,
        const double* __restrict__ sx, const double* __restrict__ sy, long long n_points,
        int n_ch, double cutoff, W* __restrict__ acc, W* __restrict__ z, long long height,
        long long width) {
    long long p = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (p >= n_points) return;
    double x = xy[2 * p], y = xy[2 * p + 1], ax = sx[p], ay = sy[p];
    double cut2 = cutoff * cutoff;
    Footprint f = footprint(x, y, ax, ay, cutoff, height, width);
    long long plane = height * width;
    for (long long r = f.r0; r <= f.r1; ++r) {
        double dy = (r - y) / ay;
        double dy2 = dy * dy;
        if (dy2 > cut2) continue;
        double wy = exp(-0.5 * dy2) * f.norm;
        for (long long c = f.c0; c <= f.c1; ++c) {
            double dx = (c - x) / ax;
            if (dx * dx + dy2 > cut2) continue;
            W w = (W)(wy * exp(-0.5 * dx * dx));
            long long q = r * width + c;
            atomicAdd(z + q, w);
            for (int ch = 0; ch < n_ch; ++ch) atomicAdd(acc + ch * plane + q, w * values[p * n_ch + ch]);
        }
    }
}

// out (H, W, C) = acc / z where z > 0, else 0.  One thread per pixel.
template <typename W>
__device__ __forceinline__ void gmm_normalise_pixel(
        const W* __restrict__ acc, const W* __restrict__ z, W* __restrict__ out,
        long long n_pixels, int n_ch) {
    long long q = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (q >= n_pixels) return;
    W zq = z[q];
    W inv = zq > W(0) ? W(1) / zq : W(0);
    for (int ch = 0; ch < n_ch; ++ch) out[q * n_ch + ch] = acc[ch * n_pixels + q] * inv;
}

// Backward (DESIGN.md's exact gradients): one thread per point gathers over its footprint
// dL/dv_i = sum_q g(q) w_i / z, and with t = <g(q), v_i - c(q)> w_i / z:
// dL/dx_i = sum t ex / sx, dL/dy_i = sum t ey / sy, dL/dsx_i = sum t (ex^2 - 1) / sx, same for y.
__device__ __forceinline__ void gmm_vjp_point(
        const double* __restrict__ xy, const double* __restrict__ values,
        const double* __restrict__ sx, const double* __restrict__ sy, long long n_points,
        int n_ch, double cutoff, const double* __restrict__ grad,
        const double* __restrict__ colour, const double* __restrict__ z, long long height,
        long long width, double* __restrict__ d_xy, double* __restrict__ d_values,
        double* __restrict__ d_sx, double* __restrict__ d_sy) {
    long long p = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (p >= n_points) return;
    double x = xy[2 * p], y = xy[2 * p + 1], ax = sx[p], ay = sy[p];
    double cut2 = cutoff * cutoff;
    Footprint f = footprint(x, y, ax, ay, cutoff, height, width);
    double gx = 0, gy = 0, gsx = 0, gsy = 0;
    for (int ch = 0; ch < n_ch; ++ch) d_values[p * n_ch + ch] = 0;
    for (long long r = f.r0; r <= f.r1; ++r) {
        double ey = (r - y) / ay;
        if (ey * ey > cut2) continue;
        for (long long c = f.c0; c <= f.c1; ++c) {
            double ex = (c - x) / ax;
            double r2 = ex * ex + ey * ey;
            long long q = r * width + c;
            if (r2 > cut2 || z[q] <= 0) continue;
            double w_over_z = exp(-0.5 * r2) * f.norm / z[q];
            double inner = 0;
            for (int ch = 0; ch < n_ch; ++ch) {
                double g = grad[q * n_ch + ch];
                d_values[p * n_ch + ch] += g * w_over_z;
                inner += g * (values[p * n_ch + ch] - colour[q * n_ch + ch]);
            }
            double t = inner * w_over_z;
            gx += t * ex / ax;
            gy += t * ey / ay;
            gsx += t * (ex * ex - 1.0) / ax;
            gsy += t * (ey * ey - 1.0) / ay;
        }
    }
    d_xy[2 * p] = gx;
    d_xy[2 * p + 1] = gy;
    d_sx[p] = gsx;
    d_sy[p] = gsy;
}

#define GMM_ENTRY_POINTS(SUFFIX, W)                                                            \
extern "C" __global__ void gmm_splat_##SUFFIX(                                                 \
        const double* xy, const W* values, const double* sx, const double* sy,                 \
        long long n_points, int n_ch, double cutoff, W* acc, W* z, long long height,           \
        long long width) {                                                                     \
    gmm_splat_point<W>(xy, values, sx, sy, n_points, n_ch, cutoff, acc, z, height, width);    \
}                                                                                              \
extern "C" __global__ void gmm_normalise_##SUFFIX(const W* acc, const W* z, W* out,           \
                                                  long long n_pixels, int n_ch) {              \
    gmm_normalise_pixel<W>(acc, z, out, n_pixels, n_ch);                                       \
}

GMM_ENTRY_POINTS(f32, float)
GMM_ENTRY_POINTS(f64, double)

extern "C" __global__ void gmm_vjp_f64(
        const double* xy, const double* values, const double* sx, const double* sy,
        long long n_points, int n_ch, double cutoff, const double* grad, const double* colour,
        const double* z, long long height, long long width, double* d_xy, double* d_values,
        double* d_sx, double* d_sy) {
    gmm_vjp_point(xy, values, sx, sy, n_points, n_ch, cutoff, grad, colour, z, height, width,
                  d_xy, d_values, d_sx, d_sy);
}
