// Gaussian mixtures on the GPU, backward: one thread a point gathers its gradients over its
// footprint (common/gaussians.h's gmm_vjp_one).
//
// A part of the GPU engine's one CUDA module: kernels/resample.cu includes it after
// kernels/common/ (and the parts it names), so it has no includes of its own.

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

// The gradient of order 1's blend (common/gaussians.h's gmm_plane_vjp_at), a thread a pixel:
// d_means (H, W, 5 + 4C) and d_mean (H, W, C) from grad (H, W, C).
extern "C" __global__ void LAUNCH_BOUNDS gmm_plane_vjp_f64(
        const double* means, const double* mean, const double* z, const double* first,
        long long height, long long width, int n_ch, double ridge_share, double clip,
        const double* grad, double* d_means, double* d_mean) {
    long long q = thread_index();
    if (q >= height * width) return;
    long long k = 5 + 4 * (long long)n_ch;
    gmm_plane_vjp_at(means + q * k, mean + q * n_ch, z[q],
                     (double)(q % width) - (width - 1) / 2.0,
                     (double)(q / width) - (height - 1) / 2.0, first, n_ch, ridge_share, clip,
                     grad + q * n_ch, d_means + q * k, d_mean + q * n_ch);
}
