// Nearest points on the GPU: the k nearest through the grid (common/nearest.h), and the
// contrast of a point's values with its neighbours'.
//
// A part of the GPU engine's one CUDA module: kernels/resample.cu includes it after
// kernels/common/ (and the parts it names), so it has no includes of its own.

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
