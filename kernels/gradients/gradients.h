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


}  // namespace RESAMPLE_ISA
