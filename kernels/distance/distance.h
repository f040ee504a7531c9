// The nearest point of every pixel on the CPU: the distance transform of
// kernels/common/distance.h.  In namespace RESAMPLE_ISA (kernels/cpu/isa.h), compiled once
// per instruction set.
#pragma once

#include "../cpu/isa.h"

namespace RESAMPLE_ISA {

// The nearest point of every pixel (kernels/common/distance.h's two passes).  Pass 1 sweeps blocks of
// columns down and up the rows (contiguous reads, where a column at a time would read one
// cache line per pixel), with nearer_in_y choosing as the GPU's nearest_column_one does.
static void nearest_map(const Array& xy_a, const Array& seeds_a, const Array& out_a) {
    long long height = seeds_a.shape(0), width = seeds_a.shape(1);
    const double* xy = ptr<double>(xy_a);
    const long long* seeds = ptr<long long>(seeds_a);
    long long* out = ptr<long long>(out_a);
    std::vector<long long> best(height * width);
    const long long block = 256;
    long long n_blocks = (width + block - 1) / block;
#pragma omp parallel num_threads(threads_for(height * width, 1 << 13))
    {
        std::vector<long long> edge(block);
#pragma omp for schedule(dynamic, 1)
        for (long long b = 0; b < n_blocks; ++b) {
            long long j0 = b * block, j1 = std::min(width, j0 + block);
            std::fill(edge.begin(), edge.end(), -1);
            for (long long i = 0; i < height; ++i)
                for (long long j = j0; j < j1; ++j) {
                    long long p = seeds[i * width + j];
                    if (p >= 0) edge[j - j0] = p;
                    best[i * width + j] = edge[j - j0];
                }
            std::fill(edge.begin(), edge.end(), -1);
            for (long long i = height - 1; i >= 0; --i)
                for (long long j = j0; j < j1; ++j) {
                    long long p = seeds[i * width + j];
                    if (p >= 0) edge[j - j0] = p;
                    best[i * width + j] = nearer_in_y(i, xy, best[i * width + j], edge[j - j0]);
                }
        }
#pragma omp barrier
        std::vector<long long> v(width);
        std::vector<double> va(width), vf(width), z(width + 1);
#pragma omp for schedule(dynamic, 8)
        for (long long i = 0; i < height; ++i)
            nearest_row_one(i, xy, best.data(), width, out, v.data(), va.data(), vf.data(),
                            z.data());
    }
}


}  // namespace RESAMPLE_ISA
