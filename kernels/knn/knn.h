// Nearest points on the CPU: the k nearest through a grid (kernels/common/nearest.h), and
// what the sigma rules compute from them (the contrast of a point's neighbours; the steered
// Gaussians' plane fits and structure tensors).  In namespace RESAMPLE_ISA
// (kernels/cpu/isa.h), compiled once per instruction set.
#pragma once

#include "../cpu/isa.h"

namespace RESAMPLE_ISA {

// ---- sigma="steered": plane fits, structure tensors, then each point's Gaussian (three
// parallel passes of kernels/common/gaussians.h's per-point functions; eps from the median strength).
static void steer(const Array& xy_a, const Array& v_a, const Array& idx_a, const Array& d2_a,
                  const Array& size_a, double alpha, double max_stretch, const Array& out_a) {
    long long n = idx_a.shape(0);
    int k = (int)idx_a.shape(1);
    const double *xy = ptr<double>(xy_a), *v = ptr<double>(v_a), *d2 = ptr<double>(d2_a);
    const double* size = ptr<double>(size_a);
    const long long* idx = ptr<long long>(idx_a);
    double* out = ptr<double>(out_a);
    std::vector<double> gradient(2 * n), tensor(3 * n), strength(n);
#pragma omp parallel num_threads(threads_for(n * k, 1 << 11))
    {
#pragma omp for schedule(dynamic, 256)
        for (long long p = 0; p < n; ++p) plane_gradient_one(p, xy, v, idx, d2, k, gradient.data());
#pragma omp for schedule(dynamic, 256)
        for (long long p = 0; p < n; ++p) {
            structure_one(p, gradient.data(), idx, k, tensor.data());
            strength[p] = structure_strength(tensor.data() + 3 * p);
        }
    }
    if (n == 0) return;
    // eps: a thousandth of the median strength (NumPy's median: the mean of the two middle
    // values for an even count)
    std::vector<double> sorted(strength);
    long long mid = n / 2;
    std::nth_element(sorted.begin(), sorted.begin() + mid, sorted.end());
    double median = sorted[mid];
    if (n % 2 == 0) median = 0.5 * (median + *std::max_element(sorted.begin(), sorted.begin() + mid));
    double eps = 1e-3 * median + 1e-12;
#pragma omp parallel for num_threads(threads_for(n, 1 << 12)) schedule(dynamic, 1024)
    for (long long p = 0; p < n; ++p)
        steer_one(p, tensor.data(), size, eps, alpha, max_stretch, out);
}

// ---- nearest points ----------------------------------------------------------------------------
// Queries are visited in query_order (by grid cell, so that neighbouring queries search the
// same cells while they are in cache); each writes its own rows of d2 and idx.
static void knn(const Array& cell_xy, const Array& order, const Array& start, double x0,
                double y0, double cell, long long nx, long long ny, const Array& queries,
                const Array& query_order, bool exclude_self, const Array& d2,
                const Array& idx) {
    long long n_queries = queries.shape(0);
    int k = (int)d2.shape(1);
    if (k == 0) return;
    const long long* visit = ptr<long long>(query_order);
#pragma omp parallel for num_threads(threads_for(n_queries * k, 1 << 11)) schedule(dynamic, 256)
    for (long long s = 0; s < n_queries; ++s)
        knn_one(visit[s], ptr<double>(cell_xy), ptr<long long>(order), ptr<long long>(start),
                x0, y0, cell, nx, ny, ptr<double>(queries), k, exclude_self ? 1 : 0,
                ptr<double>(d2), ptr<long long>(idx));
}

static void contrast(const Array& values, const Array& idx, const Array& e) {
    long long n = values.shape(0), n_ch = values.shape(1), n_nb = idx.shape(1);
    auto run = [&](auto v) {
        using V = decltype(v);
#pragma omp parallel for num_threads(threads_for(n * n_nb * n_ch, 1 << 13)) \
    schedule(dynamic, 512)
        for (long long p = 0; p < n; ++p)
            contrast_one<V>(p, ptr<V>(values), ptr<long long>(idx), (int)n_ch, (int)n_nb,
                            ptr<double>(e));
    };
    if (is<float>(values)) run(float{});
    else run(double{});
}


}  // namespace RESAMPLE_ISA
