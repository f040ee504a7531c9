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

// One output value from a tap table row: sum_k w[k] * line[idx[k] * stride] (+ the fill term).
template <typename In, typename W>
__device__ __forceinline__ W apply_taps(const In* __restrict__ line, long long stride,
                                        const int* __restrict__ idx, const W* __restrict__ w,
                                        int count, W fill_weight, W fill) {
    W acc = W(0);
    for (int k = 0; k < count; ++k)
        if (w[k] != W(0)) acc += w[k] * (W)line[idx[k] * stride];   // 0 x NaN stays out
    if (fill_weight != W(0)) acc += fill_weight * fill;
    return acc;
}

// A tap table on the device (resample/taps.py's Taps): row o has count[o] taps
// index[o * width + k] with weight[o * width + k], and the fill term fill_weight[o].
#define TABLE_PARAMS(W, P) const int* P##index, const W* P##weight, const int* P##count,       \
                           const W* P##fill_weight, int P##width
#define TABLE_ROW(P, o) P##index + (o) * P##width, P##weight + (o) * P##width, P##count[o],    \
                        P##fill_weight[o]

// The pass along columns: dst[r, o, c] from src[r, :, c].  One thread per output value
// (r, o, c); consecutive threads write consecutive values.
template <typename In, typename Out, typename W>
__device__ __forceinline__ void cols_pass(
        const In* __restrict__ src, Out* __restrict__ dst, long long n_rows,
        long long cols_in, long long cols_out, int n_ch, TABLE_PARAMS(W, ), W fill, W lo,
        W hi, int rounding) {
    long long q = thread_index();
    if (q >= n_rows * cols_out * n_ch) return;
    long long c, o, m;
    long long r = divide(q, cols_out * n_ch, &m);
    o = divide(m, n_ch, &c);
    const In* line = src + r * cols_in * n_ch + c;
    dst[q] = (Out)store_value(apply_taps(line, n_ch, TABLE_ROW(, o), fill), lo, hi, rounding);
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
    dst[q] = (Out)store_value(apply_taps(src + m, row_size, TABLE_ROW(, o), fill), lo, hi,
                              rounding);
}

// Two tables at once: dst[p, c] = sum_a wy[a] (sum_b wx[b] src[iy[a], ix[b], c] + fx fill)
// + fy fill, with the y table's row ty and the x table's row tx.  One thread per (p, c).
// Point sampling: ty = tx = p.  A one-pass resize (a grid of cols_out > 0 columns):
// ty = p / cols_out, tx = p % cols_out, with no intermediate image.
template <typename In, typename Out, typename W>
__device__ __forceinline__ void gather_pass(
        const In* __restrict__ src, Out* __restrict__ dst, long long n_points,
        long long cols_out, long long cols, int n_ch, TABLE_PARAMS(W, y_), TABLE_PARAMS(W, x_),
        W fill, W lo, W hi, int rounding) {
    long long q = thread_index();
    if (q >= n_points * n_ch) return;
    long long c, ty, tx;
    long long p = divide(q, n_ch, &c);
    if (cols_out > 0)
        ty = divide(p, cols_out, &tx);
    else
        ty = tx = p;
    const int* iy = y_index + ty * y_width;
    const W* wy = y_weight + ty * y_width;
    const In* base = src + c;
    W acc = W(0);
    for (int a = 0; a < y_count[ty]; ++a) {
        if (wy[a] == W(0)) continue;
        const In* line = base + (long long)iy[a] * cols * n_ch;
        acc += wy[a] * apply_taps(line, n_ch, TABLE_ROW(x_, tx), fill);
    }
    if (y_fill_weight[ty] != W(0)) acc += y_fill_weight[ty] * fill;
    dst[q] = (Out)store_value(acc, lo, hi, rounding);
}

// extern "C" entry points, one per (input, output) type pair: NAME_IN_OUT.
#define RESAMPLE_ENTRY_POINTS(SUFFIX, IN, OUT, W)                                              \
extern "C" __global__ void cols_##SUFFIX(                                                      \
        const IN* src, OUT* dst, long long n_rows, long long cols_in, long long cols_out,      \
        int n_ch, TABLE_PARAMS(W, ), W fill, W lo, W hi, int rounding) {                       \
    cols_pass<IN, OUT, W>(src, dst, n_rows, cols_in, cols_out, n_ch, index, weight, count,    \
                          fill_weight, width, fill, lo, hi, rounding);                         \
}                                                                                              \
extern "C" __global__ void rows_##SUFFIX(                                                      \
        const IN* src, OUT* dst, long long rows_out, long long row_size, TABLE_PARAMS(W, ),    \
        W fill, W lo, W hi, int rounding) {                                                    \
    rows_pass<IN, OUT, W>(src, dst, rows_out, row_size, index, weight, count, fill_weight,    \
                          width, fill, lo, hi, rounding);                                      \
}                                                                                              \
extern "C" __global__ void gather_##SUFFIX(                                                    \
        const IN* src, OUT* dst, long long n_points, long long cols_out, long long cols,       \
        int n_ch, TABLE_PARAMS(W, y_), TABLE_PARAMS(W, x_), W fill, W lo, W hi,                \
        int rounding) {                                                                        \
    gather_pass<IN, OUT, W>(src, dst, n_points, cols_out, cols, n_ch, y_index, y_weight,      \
                            y_count, y_fill_weight, y_width, x_index, x_weight, x_count,       \
                            x_fill_weight, x_width, fill, lo, hi, rounding);                   \
}

// First passes read the image's type into the work type; second passes store it back; the
// one-pass resize and point sampling go from the image's type to itself.
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
    // Clamped as doubles before the conversion, which is undefined beyond the integer range.
    Footprint f;
    f.r0 = (long long)fmin(fmax(ceil(y - cutoff * ay), 0.0), (double)height);
    f.r1 = (long long)fmin(fmax(floor(y + cutoff * ay), -1.0), (double)(height - 1));
    f.c0 = (long long)fmin(fmax(ceil(x - cutoff * ax), 0.0), (double)width);
    f.c1 = (long long)fmin(fmax(floor(x + cutoff * ax), -1.0), (double)(width - 1));
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
    long long p = thread_index();
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
    long long q = thread_index();
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
    long long p = thread_index();
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


// ---- Nearest points, through a uniform grid of square cells (resample/gmm.py's PointGrid):
// cell (i, j) covers x in [x0 + i cell, x0 + (i + 1) cell), y likewise, and holds the points
// order[start[j nx + i] .. start[j nx + i + 1]).  For each query, the k nearest points
// (squared distances and indices, ascending; ties in the order the cells are visited), found
// ring by ring around the query's cell until no unvisited cell can hold a nearer point.
// exclude_self: query p is point p, which is skipped.  k is at most the number of points
// (less one with exclude_self).  One thread per query; its output rows are its working lists.
extern "C" __global__ void knn_grid(
        const double* __restrict__ xy, const long long* __restrict__ order,
        const long long* __restrict__ start, double x0, double y0, double cell, long long nx,
        long long ny, const double* __restrict__ queries, long long n_queries, int k,
        int exclude_self, double* __restrict__ d2, long long* __restrict__ idx) {
    long long p = thread_index();
    if (p >= n_queries) return;
    double qx = queries[2 * p], qy = queries[2 * p + 1];
    double* best_d = d2 + p * k;
    long long* best_i = idx + p * k;
    int found = 0;
    long long cx = (long long)floor((qx - x0) / cell), cy = (long long)floor((qy - y0) / cell);
    cx = cx < 0 ? 0 : (cx > nx - 1 ? nx - 1 : cx);
    cy = cy < 0 ? 0 : (cy > ny - 1 ? ny - 1 : cy);
    for (long long r = 0;; ++r) {
        long long j0 = cy - r < 0 ? 0 : cy - r, j1 = cy + r > ny - 1 ? ny - 1 : cy + r;
        for (long long j = j0; j <= j1; ++j) {
            // the ring's top and bottom rows whole; the rows between, their two ends only
            long long step = (j == cy - r || j == cy + r || r == 0) ? 1 : 2 * r;
            for (long long i = cx - r; i <= cx + r; i += step) {
                if (i < 0 || i >= nx) continue;
                long long c = j * nx + i;
                for (long long s = start[c]; s < start[c + 1]; ++s) {
                    long long t = order[s];
                    if (exclude_self && t == p) continue;
                    double dx = xy[2 * t] - qx, dy = xy[2 * t + 1] - qy;
                    double d = dx * dx + dy * dy;
                    if (found == k && !(d < best_d[k - 1])) continue;
                    int m = found < k ? found++ : k - 1;
                    while (m > 0 && best_d[m - 1] > d) {
                        best_d[m] = best_d[m - 1];
                        best_i[m] = best_i[m - 1];
                        --m;
                    }
                    best_d[m] = d;
                    best_i[m] = t;
                }
            }
        }
        // the distance from q to the cells not visited yet (no cells beyond a side: none)
        bool bounded = false;
        double bound = 0;
        double side[4] = {qx - (x0 + (cx - r) * cell), x0 + (cx + r + 1) * cell - qx,
                          qy - (y0 + (cy - r) * cell), y0 + (cy + r + 1) * cell - qy};
        bool more[4] = {cx - r > 0, cx + r < nx - 1, cy - r > 0, cy + r < ny - 1};
        for (int e = 0; e < 4; ++e)
            if (more[e] && (!bounded || side[e] < bound)) {
                bound = side[e];
                bounded = true;
            }
        if (!bounded || (found == k && best_d[k - 1] <= bound * bound && bound > 0)) break;
    }
}

// e[p] = mean over the listed neighbours idx[p, :] and channels of |v[neighbour] - v[p]|.
template <typename V>
__device__ __forceinline__ void contrast_point(const V* __restrict__ values,
                                               const long long* __restrict__ idx,
                                               long long n, int n_ch, int n_nb,
                                               double* __restrict__ e) {
    long long p = thread_index();
    if (p >= n) return;
    double total = 0;
    for (int j = 0; j < n_nb; ++j) {
        long long q = idx[p * n_nb + j];
        for (int ch = 0; ch < n_ch; ++ch)
            total += fabs((double)values[q * n_ch + ch] - (double)values[p * n_ch + ch]);
    }
    e[p] = total / ((double)n_nb * n_ch);
}

extern "C" __global__ void contrast_f32(const float* values, const long long* idx, long long n,
                                        int n_ch, int n_nb, double* e) {
    contrast_point<float>(values, idx, n, n_ch, n_nb, e);
}

extern "C" __global__ void contrast_f64(const double* values, const long long* idx,
                                        long long n, int n_ch, int n_nb, double* e) {
    contrast_point<double>(values, idx, n, n_ch, n_nb, e);
}


// ---- Nearest point of every pixel: an exact Euclidean distance transform of the points'
// pixels (Felzenszwalb and Huttenlocher, "Distance Transforms of Sampled Functions", 2012),
// with the points' own positions as the parabolas' vertices.  seeds (H, W) holds, per pixel,
// the point that falls in it (the one nearest its centre) or -1.  Pass 1, one thread a
// column: for each pixel, the point of that column nearest in y.  Pass 2, one thread a row:
// the point whose (x - px)^2 + (y - py)^2 is least among the columns' choices.  A thread's
// lower envelope lives in v (sites) and z (boundaries): n and n + 1 entries of scratch.

// The envelope: sites v[0..k] with vertices va, heights vf; site t is lowest on [z[t], z[t+1]).
// Adds site s (vertex a >= every vertex so far, height f); returns the new k.
__device__ __forceinline__ long long envelope_add(long long* v, double* va, double* vf,
                                                  double* z, long long k, long long s,
                                                  double a, double f) {
    while (k >= 0) {
        double at = va[k], ft = vf[k];
        if (a == at) {
            if (f >= ft) return k;           // the same vertex, no lower: s adds nothing
            --k;                             // s is below the top site everywhere
            continue;
        }
        double sect = ((f + a * a) - (ft + at * at)) / (2.0 * (a - at));
        if (k > 0 && sect <= z[k]) {
            --k;                             // the top site is hidden from sect on
            continue;
        }
        ++k;
        v[k] = s; va[k] = a; vf[k] = f; z[k] = sect;
        return k;
    }
    v[0] = s; va[0] = a; vf[0] = f; z[0] = 0.0;     // z[0] is never read: from -infinity
    return 0;
}

// out[q * stride] = the site lowest at position q, for q = 0..n-1 (-1 without sites).
__device__ __forceinline__ void envelope_read(const long long* v, const double* z,
                                              long long k, long long n, long long* out,
                                              long long stride) {
    long long t = 0;
    for (long long q = 0; q < n; ++q) {
        while (t < k && z[t + 1] <= (double)q) ++t;
        out[q * stride] = k < 0 ? -1 : v[t];
    }
}

// Scratch: v (n), va (n), vf (n), z (n + 1) per thread, for lines of n pixels.
#define ENVELOPE_SCRATCH(line, n)                                                              \
    long long* v = v_all + (line) * (n);                                                       \
    double* va = a_all + (line) * (n);                                                         \
    double* vf = f_all + (line) * (n);                                                         \
    double* z = z_all + (line) * ((n) + 1);

extern "C" __global__ void nearest_columns(const double* __restrict__ xy,
                                           const long long* __restrict__ seeds,
                                           long long height, long long width,
                                           long long* __restrict__ best,
                                           long long* __restrict__ v_all,
                                           double* __restrict__ a_all,
                                           double* __restrict__ f_all,
                                           double* __restrict__ z_all) {
    long long j = thread_index();
    if (j >= width) return;
    ENVELOPE_SCRATCH(j, height)
    long long k = -1;
    for (long long i = 0; i < height; ++i) {
        long long p = seeds[i * width + j];
        if (p >= 0) k = envelope_add(v, va, vf, z, k, p, xy[2 * p + 1], 0.0);
    }
    envelope_read(v, z, k, height, best + j, width);
}

extern "C" __global__ void nearest_rows(const double* __restrict__ xy,
                                        const long long* __restrict__ best,
                                        long long height, long long width,
                                        long long* __restrict__ nearest,
                                        long long* __restrict__ v_all,
                                        double* __restrict__ a_all,
                                        double* __restrict__ f_all,
                                        double* __restrict__ z_all) {
    long long i = thread_index();
    if (i >= height) return;
    ENVELOPE_SCRATCH(i, width)
    long long k = -1;
    for (long long j = 0; j < width; ++j) {
        long long p = best[i * width + j];
        if (p < 0) continue;
        double dy = (double)i - xy[2 * p + 1];
        k = envelope_add(v, va, vf, z, k, p, xy[2 * p], dy * dy);
    }
    envelope_read(v, z, k, width, nearest + i * width, 1);
}
