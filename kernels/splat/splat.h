// Gaussian mixtures on the CPU, forward: every point splatted into the pixels of its footprint,
// then the sums normalised.  In namespace RESAMPLE_ISA (kernels/cpu/isa.h), compiled once per
// instruction set; the per-pixel mathematics is kernels/common/gaussians.h.
#pragma once

#include "../cpu/isa.h"

namespace RESAMPLE_ISA {

// ---- Gaussian mixtures -------------------------------------------------------------------------
// Forward: bands of band_rows rows run in parallel, each adding the points listed for it
// (members[start[b]:start[b+1]]) into its rows of acc (C, H, W) and z (H, W): no two threads
// add into one pixel.
//
// A Gaussian's exponent r2 = A ex^2 + 2 B ex dy + C dy^2 (ex, dy: the pixel's offset from the
// centre; B = 0 unless rotated) is a quadratic, so its weights are carried by multiplications
// instead of an exp a pixel: along the footprint's first row, from one column to the next, r2
// grows by A (2 ex + 1) + 2 B dy, which grows by 2A (w *= q, q *= exp(-A)); from one row to the
// next, r2 grows by 2 B ex + C (2 dy + 1), so the whole row of weights is multiplied by
// U[col] = exp(-B ex) times a factor of the row, V = exp(-C (2 dy + 1) / 2), V *= exp(-C): a
// few exps a point, and the row updates are elementwise (vectorised).  Each row adds only its
// chord of the cutoff ellipse (r2 <= cutoff^2), solved and then settled by the same test per
// pixel as the reference.  Where a factor could overflow (a Gaussian much narrower than a
// pixel, or extremely elongated), one exp a pixel instead.
template <typename V>
static void splat_bands(const double* xy, const V* values, const double* sx, const double* sy,
                        const double* theta, int n_ch, double cutoff, const long long* start,
                        const long long* members, long long n_bands, long long band_rows,
                        V* acc, V* z, long long height, long long width) {
    const double cut2 = cutoff * cutoff, FACTOR_MAX = 300.0;  // exp(+-300): no overflow
    long long plane = height * width;
#pragma omp parallel num_threads(threads_now())
    {
        std::vector<double> row_w(width), col_u(width), col_ex(width), col_aex(width);
        std::vector<V> masked(width);
#pragma omp for schedule(dynamic, 1)
        for (long long b = 0; b < n_bands; ++b) {
            long long row_lo = b * band_rows, row_hi = std::min(height, row_lo + band_rows);
            for (long long s = start[b]; s < start[b + 1]; ++s) {
                long long p = members[s];
                double x = xy[2 * p], y = xy[2 * p + 1], ax = sx[p], ay = sy[p];
                double th = theta != nullptr ? theta[p] : 0.0;
                double cs = th != 0.0 ? std::cos(th) : 1.0, sn = th != 0.0 ? std::sin(th) : 0.0;
                Footprint f = footprint_steered(x, y, ax, ay, cs, sn, cutoff, height, width);
                long long r0 = std::max(f.r0, row_lo), r1 = std::min(f.r1, row_hi - 1);
                long long c0 = f.c0, c1 = f.c1;
                if (c1 < c0 || r1 < r0) continue;
                double ix2 = 1.0 / (ax * ax), iy2 = 1.0 / (ay * ay);
                double A = cs * cs * ix2 + sn * sn * iy2, B = cs * sn * (ix2 - iy2);
                double C = sn * sn * ix2 + cs * cs * iy2, inv_a = 1.0 / A;
                auto r2_at = [&](long long c, double dy) {
                    double ex = c - x;
                    return A * ex * ex + 2.0 * B * ex * dy + C * dy * dy;
                };
                const V* value = values + p * n_ch;
                auto add_row = [&](long long r, long long lo, long long hi, const double* w) {
                    V* zr = z + r * width;
                    for (long long c = lo; c <= hi; ++c) zr[c] += (V)w[c];
                    for (int ch = 0; ch < n_ch; ++ch) {
                        V* ar = acc + ch * plane + r * width;
                        double v = (double)value[ch];
                        for (long long c = lo; c <= hi; ++c) ar[c] += (V)(w[c] * v);
                    }
                };
                auto chord = [&](double dy, long long& lo, long long& hi) {
                    double disc = B * B * dy * dy - A * (C * dy * dy - cut2);
                    if (disc < 0) return false;
                    double root = std::sqrt(disc), mid = x - B * dy * inv_a;
                    lo = std::max(c0, (long long)std::ceil(mid - root * inv_a));
                    hi = std::min(c1, (long long)std::floor(mid + root * inv_a));
                    while (lo <= hi && r2_at(lo, dy) > cut2) ++lo;
                    while (lo > c0 && r2_at(lo - 1, dy) <= cut2) --lo;
                    while (hi >= lo && r2_at(hi, dy) > cut2) --hi;
                    while (hi >= lo && hi < c1 && r2_at(hi + 1, dy) <= cut2) ++hi;
                    return hi >= lo;
                };
                double ex_far = std::max(std::fabs(c0 - x), std::fabs(c1 - x));
                double dy_far = std::max(std::fabs(r0 - y), std::fabs(r1 - y));
                double corner = std::max(std::max(r2_at(c0, r0 - y), r2_at(c1, r0 - y)),
                                         std::max(r2_at(c0, r1 - y), r2_at(c1, r1 - y)));
                bool carried = 0.5 * corner <= FACTOR_MAX &&
                               std::fabs(B) * ex_far <= FACTOR_MAX &&
                               0.5 * A * (2.0 * ex_far + 1.0) <= FACTOR_MAX &&
                               0.5 * C * (2.0 * dy_far + 1.0) <= FACTOR_MAX &&
                               std::fabs(B) * dy_far <= FACTOR_MAX;
                double* w = row_w.data();
                if (!carried) {
                    for (long long r = r0; r <= r1; ++r) {
                        long long lo, hi;
                        double dy = r - y;
                        if (!chord(dy, lo, hi)) continue;
                        for (long long c = lo; c <= hi; ++c)
                            w[c] = std::exp(-0.5 * r2_at(c, dy)) * f.norm;
                        add_row(r, lo, hi, w);
                    }
                    continue;
                }
                {   // the first row, and the columns' factors U
                    double dy = r0 - y, ex = c0 - x;
                    double wc = std::exp(-0.5 * r2_at(c0, dy)) * f.norm;
                    double q = std::exp(-0.5 * (A * (2.0 * ex + 1.0) + 2.0 * B * dy));
                    double shrink = std::exp(-A), u = std::exp(-B * ex), step = std::exp(-B);
                    for (long long c = c0; c <= c1; ++c) {
                        w[c] = wc;
                        wc *= q;
                        q *= shrink;
                        col_u[c] = u;
                        u *= step;
                    }
                }
                // Each row: the weights inside the cutoff ellipse (the same r2 test per pixel
                // as the reference, over the whole footprint: the same trip count every row,
                // and no branches), then the next row's weights.
                double vr = std::exp(-0.5 * C * (2.0 * (r0 - y) + 1.0)), v_step = std::exp(-C);
                long long n = c1 - c0 + 1;
                double* ex = col_ex.data();
                double* aex = col_aex.data();
                for (long long k = 0; k < n; ++k) {
                    ex[k] = (c0 + k) - x;
                    aex[k] = A * ex[k];
                }
                const double* u = col_u.data() + c0;
                double* wr = w + c0;
                // 1 to 4 channels: the sums in one loop a row, the channels unrolled; more: a
                // loop a channel.
                auto rows_unrolled = [&](auto channels) {
                    constexpr int NC = decltype(channels)::value;
                    const V v0 = value[0], v1 = value[NC > 1 ? 1 : 0];
                    const V v2 = value[NC > 2 ? 2 : 0], v3 = value[NC > 3 ? 3 : 0];
                    for (long long r = r0; r <= r1; ++r) {
                        double dy = r - y, b2 = 2.0 * B * dy, cdy2 = C * dy * dy;
                        long long at = r * width + c0;
                        V* __restrict__ zr = z + at;
                        V* __restrict__ a0 = acc + at;
                        V* __restrict__ a1 = acc + (NC > 1 ? plane : 0) + at;
                        V* __restrict__ a2 = acc + (NC > 2 ? 2 * plane : 0) + at;
                        V* __restrict__ a3 = acc + (NC > 3 ? 3 * plane : 0) + at;
                        V* __restrict__ m = masked.data();
                        for (long long k = 0; k < n; ++k) {
                            double r2 = ex[k] * (aex[k] + b2) + cdy2;
                            double inside = r2 <= cut2 ? 1.0 : 0.0;  // (a product, not a branch:
                            m[k] = (V)(wr[k] * inside);              // vectorised for float too)
                            wr[k] *= u[k] * vr;
                        }
                        for (long long k = 0; k < n; ++k) {
                            V mk = m[k];
                            zr[k] += mk;
                            a0[k] += mk * v0;
                            if constexpr (NC > 1) a1[k] += mk * v1;
                            if constexpr (NC > 2) a2[k] += mk * v2;
                            if constexpr (NC > 3) a3[k] += mk * v3;
                        }
                        vr *= v_step;
                    }
                };
                switch (n_ch) {
                case 1: rows_unrolled(std::integral_constant<int, 1>{}); continue;
                case 2: rows_unrolled(std::integral_constant<int, 2>{}); continue;
                case 3: rows_unrolled(std::integral_constant<int, 3>{}); continue;
                case 4: rows_unrolled(std::integral_constant<int, 4>{}); continue;
                default: break;
                }
                V* m = masked.data();
                for (long long r = r0; r <= r1; ++r) {
                    double dy = r - y, b2 = 2.0 * B * dy, cdy2 = C * dy * dy;
                    for (long long k = 0; k < n; ++k) {
                        double r2 = ex[k] * (aex[k] + b2) + cdy2;
                        double inside = r2 <= cut2 ? 1.0 : 0.0;
                        m[k] = (V)(wr[k] * inside);
                        wr[k] *= u[k] * vr;
                    }
                    V* zr = z + r * width + c0;
                    for (long long k = 0; k < n; ++k) zr[k] += m[k];
                    for (int ch = 0; ch < n_ch; ++ch) {
                        V* ar = acc + ch * plane + r * width + c0;
                        V v = value[ch];
                        for (long long k = 0; k < n; ++k) ar[k] += m[k] * v;
                    }
                    vr *= v_step;
                }
            }
        }
    }
}

// theta: (N,) rotations, or an empty array for none.
static void gmm_splat(const Array& xy, const Array& values, const Array& sx, const Array& sy,
                      const Array& theta, double cutoff, const Array& start,
                      const Array& members, long long band_rows, const Array& acc,
                      const Array& z) {
    long long n_ch = values.shape(1), height = z.shape(0), width = z.shape(1);
    long long n_bands = start.shape(0) - 1;
    const double* rot = theta.size() ? ptr<double>(theta) : nullptr;
    auto run = [&](auto v) {
        using V = decltype(v);
        splat_bands<V>(ptr<double>(xy), ptr<V>(values), ptr<double>(sx), ptr<double>(sy), rot,
                       (int)n_ch, cutoff, ptr<long long>(start), ptr<long long>(members),
                       n_bands, band_rows, ptr<V>(acc), ptr<V>(z), height, width);
    };
    if (is<float>(values)) run(float{});
    else run(double{});
}

// out (H, W, C) = acc / z where z > 0, else 0; returns the number of holes (z <= 0).
static long long gmm_normalise(const Array& acc, const Array& z, const Array& out) {
    long long n_ch = acc.shape(0), n_pixels = z.shape(0) * z.shape(1);
    long long holes = 0;
    auto run = [&](auto v) {
        using V = decltype(v);
        const V *a = ptr<V>(acc), *zz = ptr<V>(z);
        V* o = ptr<V>(out);
#pragma omp parallel for num_threads(threads_for(n_pixels * n_ch, 1 << 15)) \
    schedule(dynamic, 4096) reduction(+ : holes)
        for (long long q = 0; q < n_pixels; ++q) {
            gmm_normalise_one<V>(q, a, zz, o, n_pixels, (int)n_ch);
            holes += zz[q] > V(0) ? 0 : 1;
        }
    };
    if (is<float>(acc)) run(float{});
    else run(double{});
    return holes;
}


// Order 1 (kernels/common/gaussians.h's gmm_plane_at), every pixel of means (H, W, 5 + 4C),
// mean and out (H, W, C), z (H, W), first (C), all float64.
static void gmm_plane(const Array& means, const Array& mean, const Array& z, const Array& first,
                      double ridge_share, double clip, const Array& out) {
    long long height = z.shape(0), width = z.shape(1), n_ch = mean.shape(2);
    long long k = means.shape(2), n_pixels = height * width;
    const double *m = ptr<double>(means), *mn = ptr<double>(mean), *zz = ptr<double>(z);
    const double* f = ptr<double>(first);
    double* o = ptr<double>(out);
#pragma omp parallel for num_threads(threads_for(n_pixels * n_ch, 1 << 14)) \
    schedule(dynamic, 1024)
    for (long long q = 0; q < n_pixels; ++q)
        gmm_plane_at(m + q * k, mn + q * n_ch, zz[q], (double)(q % width) - (width - 1) / 2.0,
                     (double)(q / width) - (height - 1) / 2.0, f, (int)n_ch, ridge_share, clip,
                     o + q * n_ch);
}

}  // namespace RESAMPLE_ISA
