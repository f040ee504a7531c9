// Gaussian mixtures on the CPU, backward: the gradients of a loss with respect to every
// point's position, values, sigma and rotation (kernels/common/gaussians.h's gmm_vjp_one).
// In namespace RESAMPLE_ISA (kernels/cpu/isa.h), compiled once per instruction set.
#pragma once

#include "../cpu/isa.h"

namespace RESAMPLE_ISA {

// theta and d_theta: (N,), or empty arrays for unrotated Gaussians.
static void gmm_vjp(const Array& xy, const Array& values, const Array& sx, const Array& sy,
                    const Array& theta, double cutoff, const Array& grad, const Array& colour,
                    const Array& z, const Array& d_xy, const Array& d_values, const Array& d_sx,
                    const Array& d_sy, const Array& d_theta) {
    long long n = xy.shape(0), n_ch = values.shape(1), height = z.shape(0), width = z.shape(1);
    const double* rot = theta.size() ? ptr<double>(theta) : nullptr;
    double* d_rot = d_theta.size() ? ptr<double>(d_theta) : nullptr;
#pragma omp parallel num_threads(threads_for(n, 256))
    {
        std::vector<double> columns(width);      // a footprint's column weights
#pragma omp for schedule(dynamic, 64)
        for (long long p = 0; p < n; ++p)
            gmm_vjp_one(p, ptr<double>(xy), ptr<double>(values), ptr<double>(sx),
                        ptr<double>(sy), rot, (int)n_ch, cutoff, ptr<double>(grad),
                        ptr<double>(colour), ptr<double>(z), height, width, ptr<double>(d_xy),
                        ptr<double>(d_values), ptr<double>(d_sx), ptr<double>(d_sy), d_rot,
                        columns.data());
    }
}


// The gradient of order 1's blend (kernels/common/gaussians.h's gmm_plane_vjp_at), every pixel:
// grad, mean and d_mean (H, W, C), means and d_means (H, W, 5 + 4C), z (H, W), first (C).
static void gmm_plane_vjp(const Array& means, const Array& mean, const Array& z,
                          const Array& first, double ridge_share, double clip, const Array& grad,
                          const Array& d_means, const Array& d_mean) {
    long long height = z.shape(0), width = z.shape(1), n_ch = mean.shape(2);
    long long k = means.shape(2), n_pixels = height * width;
    const double *m = ptr<double>(means), *mn = ptr<double>(mean), *zz = ptr<double>(z);
    const double *f = ptr<double>(first), *g = ptr<double>(grad);
    double *dm = ptr<double>(d_means), *dmn = ptr<double>(d_mean);
#pragma omp parallel for num_threads(threads_for(n_pixels * n_ch, 1 << 14)) \
    schedule(dynamic, 1024)
    for (long long q = 0; q < n_pixels; ++q)
        gmm_plane_vjp_at(m + q * k, mn + q * n_ch, zz[q], (double)(q % width) - (width - 1) / 2.0,
                         (double)(q / width) - (height - 1) / 2.0, f, (int)n_ch, ridge_share,
                         clip, g + q * n_ch, dm + q * k, dmn + q * n_ch);
}

}  // namespace RESAMPLE_ISA
