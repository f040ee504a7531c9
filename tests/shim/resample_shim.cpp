// The kernels of kernels/resample.cu, run on the CPU through tests/shim/cpu_shim.h, for
// tests/engines/test_kernels.py.  Each function launches its kernel on a 1-D grid of 1-D blocks, as
// resample/engines/gpu.py does, with a block size chosen by the caller.
#include "../../kernels/resample.cu"

static dim3 grid_for(long long n, unsigned block) {
    dim3 g;
    g.x = (unsigned)((n + block - 1) / block);
    return g;
}

#define SHIM_FUNCTIONS(SUFFIX, IN, OUT, W)                                                     \
extern "C" void shim_cols_##SUFFIX(unsigned block, const IN* src, OUT* dst, long long n_rows,  \
        long long cols_in, long long cols_out, int n_ch, TABLE_PARAMS(W, ), W fill, W lo,      \
        W hi, int rounding) {                                                                  \
    dim3 b; b.x = block;                                                                       \
    launch(grid_for(n_rows * cols_out, block), b, [&] {                                 \
        cols_##SUFFIX(src, dst, n_rows, cols_in, cols_out, n_ch, index, weight, count,         \
                      fill_weight, width, fill, lo, hi, rounding); });                         \
}                                                                                              \
extern "C" void shim_rows_##SUFFIX(unsigned block, const IN* src, OUT* dst, long long rows_out,\
        long long row_size, TABLE_PARAMS(W, ), W fill, W lo, W hi, int rounding) {             \
    dim3 b; b.x = block;                                                                       \
    launch(grid_for(rows_out * row_size, block), b, [&] {                                      \
        rows_##SUFFIX(src, dst, rows_out, row_size, index, weight, count, fill_weight, width,  \
                      fill, lo, hi, rounding); });                                             \
}                                                                                              \
extern "C" void shim_gather_##SUFFIX(unsigned block, const IN* src, OUT* dst,                  \
        long long n_points, long long cols_out, long long cols, int n_ch,                      \
        TABLE_PARAMS(W, y_), TABLE_PARAMS(W, x_), W fill, W lo, W hi, int rounding) {          \
    dim3 b; b.x = block;                                                                       \
    launch(grid_for(n_points, block), b, [&] {                                          \
        gather_##SUFFIX(src, dst, n_points, cols_out, cols, n_ch, y_index, y_weight, y_count,  \
                        y_fill_weight, y_width, x_index, x_weight, x_count, x_fill_weight,     \
                        x_width, fill, lo, hi, rounding); });                                  \
}

SHIM_FUNCTIONS(u8_f32, unsigned char, float, float)
SHIM_FUNCTIONS(f32_u8, float, unsigned char, float)
SHIM_FUNCTIONS(u8_u8, unsigned char, unsigned char, float)
SHIM_FUNCTIONS(u16_f32, unsigned short, float, float)
SHIM_FUNCTIONS(f32_u16, float, unsigned short, float)
SHIM_FUNCTIONS(u16_u16, unsigned short, unsigned short, float)
SHIM_FUNCTIONS(f32_f32, float, float, float)
SHIM_FUNCTIONS(f64_f64, double, double, double)

#define SHIM_TILED(SUFFIX, T, W)                                                               \
extern "C" void shim_tiled_##SUFFIX(unsigned block, const T* src, T* dst, long long cols_in,   \
        long long rows_out, long long cols_out, int n_ch, TABLE_PARAMS(W, y_),                 \
        TABLE_PARAMS(W, x_), const int* y_span, const int* x_span, W fill, W lo, W hi,         \
        int rounding, int fast, int tile_rows) {                                               \
    dim3 b; b.x = block;                                                                       \
    dim3 g; g.x = (unsigned)(((rows_out + tile_rows - 1) / tile_rows)                      \
                          * ((cols_out + TILE - 1) / TILE));                                   \
    launch_block(g, b, [&] {                                                                   \
        tiled_##SUFFIX(src, dst, cols_in, rows_out, cols_out, n_ch, y_index, y_weight,         \
                       y_count, y_fill_weight, y_width, x_index, x_weight, x_count,            \
                       x_fill_weight, x_width, y_span, x_span, fill, lo, hi, rounding, fast,      \
                       tile_rows); });                                                         \
}

SHIM_TILED(u8_u8, unsigned char, float)
SHIM_TILED(u16_u16, unsigned short, float)
SHIM_TILED(f32_f32, float, float)
SHIM_TILED(f64_f64, double, double)

#define SHIM_GMM(SUFFIX, W)                                                                    \
extern "C" void shim_gmm_splat_##SUFFIX(unsigned block, const double* xy, const W* values,     \
        const double* sx, const double* sy, const double* theta, long long n_points, int n_ch, \
        double cutoff, W* acc, W* z, long long height, long long width, int packed) {          \
    dim3 b; b.x = block;                                                                       \
    launch(grid_for(n_points, block), b, [&] {                                                 \
        gmm_splat_##SUFFIX(xy, values, sx, sy, theta, n_points, n_ch, cutoff, acc, z, height,  \
                           width, packed);                                                     \
    });                                                                                        \
}                                                                                              \
extern "C" void shim_gmm_splat_tiles_##SUFFIX(unsigned block, const double* xy,                \
        const W* values, const double* sx, const double* sy, const double* theta,              \
        const long long* start, int n_ch, double cutoff, W* acc, W* z, long long height,       \
        long long width, int packed) {                                                         \
    dim3 b; b.x = block;                                                                       \
    dim3 g; g.x = (unsigned)(((height + SPLAT_TILE - 1) / SPLAT_TILE)                          \
                             * ((width + SPLAT_TILE - 1) / SPLAT_TILE));                       \
    launch_block(g, b, [&] {                                                                   \
        gmm_splat_tiles_##SUFFIX(xy, values, sx, sy, theta, start, n_ch, cutoff, acc, z,       \
                                 height, width, packed); });                                   \
}                                                                                              \
extern "C" void shim_gmm_normalise_##SUFFIX(unsigned block, const W* acc, const W* z, W* out,  \
        long long n_pixels, int n_ch) {                                                        \
    dim3 b; b.x = block;                                                                       \
    launch(grid_for(n_pixels, block), b, [&] { gmm_normalise_##SUFFIX(acc, z, out, n_pixels, n_ch); }); \
}                                                                                              \
extern "C" void shim_gmm_normalise_packed_##SUFFIX(unsigned block, const W* acc, W* z, W* out, \
        long long n_pixels, int n_ch, int packed) {                                            \
    dim3 b; b.x = block;                                                                       \
    launch(grid_for(n_pixels, block), b, [&] {                                                 \
        gmm_normalise_packed_##SUFFIX(acc, z, out, n_pixels, n_ch, packed); });                \
}

SHIM_GMM(f32, float)
SHIM_GMM(f64, double)

extern "C" void shim_gmm_bin(unsigned block, const double* xy, const double* sx,
        const double* sy, const double* theta, long long n_points, double cutoff,
        long long height, long long width, int* tile) {
    dim3 b; b.x = block;
    launch(grid_for(n_points, block), b, [&] {
        gmm_bin(xy, sx, sy, theta, n_points, cutoff, height, width, tile); });
}

extern "C" void shim_gmm_vjp_f64(unsigned block, const double* xy, const double* values,
        const double* sx, const double* sy, const double* theta, long long n_points, int n_ch,
        double cutoff, const double* grad, const double* colour, const double* z,
        long long height, long long width, double* d_xy, double* d_values, double* d_sx,
        double* d_sy, double* d_theta) {
    dim3 b; b.x = block;
    launch(grid_for(n_points, block), b, [&] {
        gmm_vjp_f64(xy, values, sx, sy, theta, n_points, n_ch, cutoff, grad, colour, z,
                    height, width, d_xy, d_values, d_sx, d_sy, d_theta);
    });
}

extern "C" void shim_gmm_plane_f64(unsigned block, const double* means, const double* mean,
        const double* z, const double* first, long long height, long long width, int n_ch,
        double ridge_share, double clip, double* out) {
    dim3 b; b.x = block;
    launch(grid_for(height * width, block), b, [&] {
        gmm_plane_f64(means, mean, z, first, height, width, n_ch, ridge_share, clip, out); });
}

extern "C" void shim_gmm_plane_vjp_f64(unsigned block, const double* means, const double* mean,
        const double* z, const double* first, long long height, long long width, int n_ch,
        double ridge_share, double clip, const double* grad, double* d_means, double* d_mean) {
    dim3 b; b.x = block;
    launch(grid_for(height * width, block), b, [&] {
        gmm_plane_vjp_f64(means, mean, z, first, height, width, n_ch, ridge_share, clip, grad,
                          d_means, d_mean); });
}

extern "C" void shim_knn_grid(unsigned block, const double* xy, const long long* order,
        const long long* start, double x0, double y0, double cell, long long nx, long long ny,
        const double* queries, long long n_queries, int k, int exclude_self, double* d2,
        long long* idx) {
    dim3 b; b.x = block;
    launch(grid_for(n_queries, block), b, [&] {
        knn_grid(xy, order, start, x0, y0, cell, nx, ny, queries, n_queries, k, exclude_self,
                 d2, idx);
    });
}

#define SHIM_CONTRAST(SUFFIX, V)                                                               \
extern "C" void shim_contrast_##SUFFIX(unsigned block, const V* values, const long long* idx,   \
        long long n, int n_ch, int n_nb, double* e) {                                          \
    dim3 b; b.x = block;                                                                       \
    launch(grid_for(n, block), b, [&] { contrast_##SUFFIX(values, idx, n, n_ch, n_nb, e); });  \
}

SHIM_CONTRAST(f32, float)
SHIM_CONTRAST(f64, double)

extern "C" void shim_taps_rows(unsigned block, const double* x, long long n_pos, long long n,
        int method, double support, double stretch, int boundary, long long width,
        long long* index, double* weight, double* fill) {
    dim3 b; b.x = block;
    launch(grid_for(n_pos, block), b, [&] {
        taps_rows(x, n_pos, n, method, support, stretch, boundary, width, index, weight, fill);
    });
}


extern "C" void shim_taps_slopes_rows(unsigned block, const double* x, long long n_pos,
        long long n, int method, double support, int boundary, long long width,
        long long* index, double* weight, double* slope, double* fill, double* fill_slope) {
    dim3 b; b.x = block;
    launch(grid_for(n_pos, block), b, [&] {
        taps_slopes_rows(x, n_pos, n, method, support, boundary, width, index, weight, slope,
                         fill, fill_slope);
    });
}

#define SHIM_GATHER_VJP(SUFFIX, T)                                                             \
extern "C" void shim_gather_vjp_##SUFFIX(unsigned block, const T* src, long long n_points,     \
        long long cols, long long n_ch, const long long* y_index, const double* y_weight,     \
        const double* y_slope, const long long* y_count, const double* y_fill,                 \
        const double* y_fill_slope, long long y_width, const long long* x_index,              \
        const double* x_weight, const double* x_slope, const long long* x_count,              \
        const double* x_fill, const double* x_fill_slope, long long x_width, double fill,     \
        const T* grad, T* d_src, double* d_pos, int want_src, int want_pos) {                  \
    dim3 b; b.x = block;                                                                       \
    launch(grid_for(n_points, block), b, [&] {                                                 \
        gather_vjp_##SUFFIX(src, n_points, cols, n_ch, y_index, y_weight, y_slope, y_count,    \
                            y_fill, y_fill_slope, y_width, x_index, x_weight, x_slope,         \
                            x_count, x_fill, x_fill_slope, x_width, fill, grad, d_src, d_pos,  \
                            want_src, want_pos);                                               \
    });                                                                                        \
}

SHIM_GATHER_VJP(f32, float)
SHIM_GATHER_VJP(f64, double)
