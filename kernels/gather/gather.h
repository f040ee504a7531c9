// Point sampling on the CPU: each point's taps along both axes.  In namespace RESAMPLE_ISA
// (kernels/cpu/isa.h), compiled once per instruction set.
#pragma once

#include "../cpu/isa.h"

namespace RESAMPLE_ISA {

// Point sampling: dst[p, c] = sum_a wy[p,a] (sum_b wx[p,b] src[iy[p,a], ix[p,b], c]
// + fx[p] fill) + fy[p] fill, src (R, C, ch).
static void gather(const Array& src, const Array& iy, const Array& wy, const Array& cy,
                   const Array& fy, const Array& ix, const Array& wx, const Array& cx,
                   const Array& fx, double fill, const Array& dst, double lo, double hi,
                   int rounding) {
    long long cols = src.shape(1), n_ch = src.shape(2), n_pts = dst.shape(0);
    long long ty = iy.shape(1), tx = ix.shape(1);
    with_sample_type(src, [&](auto t) {
        using T = decltype(t);
        with_work_type(wy, [&](auto w) {
            using W = decltype(w);
            const T* s = ptr<T>(src);
            T* d = ptr<T>(dst);
            const long long *yi = ptr<long long>(iy), *yn = ptr<long long>(cy);
            const long long *xi = ptr<long long>(ix), *xn = ptr<long long>(cx);
            const W *yw = ptr<W>(wy), *yf = ptr<W>(fy), *xw = ptr<W>(wx), *xf = ptr<W>(fx);
            W f = (W)fill;
#pragma omp parallel for num_threads(threads_for(n_pts * n_ch, 1 << 12)) schedule(dynamic, 256)
            for (long long p = 0; p < n_pts; ++p)
                for (long long c = 0; c < n_ch; ++c) {
                    // relative to a base, as the resize loops (see combine)
                    W acc = yn[p] == 0 ? yf[p] * f : W(0), base = W(0);
                    for (long long a = 0; a < yn[p]; ++a) {
                        const T* line = s + yi[p * ty + a] * cols * n_ch + c;
                        W row = xf[p] * f;
                        if (xn[p] > 0) {
                            W b = sum_base<W>((W)line[xi[p * tx] * n_ch]);
                            row = b + fill_term<W>(xf[p], f, b);
                            for (long long t = 0; t < xn[p]; ++t)
                                row += tap_term<W>(xw[p * tx + t],
                                                   (W)line[xi[p * tx + t] * n_ch], b);
                        }
                        if (a == 0) {
                            base = sum_base<W>(row);
                            acc = base + fill_term<W>(yf[p], f, base);
                        }
                        acc += tap_term<W>(yw[p * ty + a], row, base);
                    }
                    d[p * n_ch + c] = store_sample<T, W>(acc, (W)lo, (W)hi, rounding);
                }
        });
    });
}

// The gradient of point sampling for every point (common/sampling.h's gather_vjp_point):
// d_src (rows, cols, ch), float32 or float64 as src, accumulated into; d_pos (P, 2) set.
// An empty d_src, d_pos or slope table: that gradient is not wanted.  The points run in
// parallel by bands of the rows they add into: a point whose weighing taps' rows lie within
// one band's height goes to the band of its first row, so that it adds into that band and
// the next only; the even bands run at once, then the odd ones, and no two threads ever add
// into one row.  A point whose rows spread wider (a wrapping boundary) runs last, alone.  The
// bands' height depends on the image, not on the threads: each pixel's sum is added in one
// order however many cores are free, so the results are the same bits on every run.
constexpr long long GATHER_VJP_BANDS = 64;
static void gather_vjp(const Array& src, const Array& iy, const Array& wy, const Array& sy,
                       const Array& cy, const Array& fy, const Array& fsy, const Array& ix,
                       const Array& wx, const Array& sx, const Array& cx, const Array& fx,
                       const Array& fsx, double fill, const Array& grad, const Array& d_src,
                       const Array& d_pos) {
    long long rows = src.shape(0), cols = src.shape(1), n_ch = src.shape(2);
    long long n_pts = grad.shape(0), ty = iy.shape(1), tx = ix.shape(1);
    bool want_src = d_src.size() > 0;
    bool want_pos = d_pos.size() > 0 && sy.size() > 0 && sx.size() > 0;
    AxisTaps y = {ptr<long long>(iy), ptr<double>(wy), want_pos ? ptr<double>(sy) : nullptr,
                  ptr<long long>(cy), ptr<double>(fy), want_pos ? ptr<double>(fsy) : nullptr,
                  ty};
    AxisTaps x = {ptr<long long>(ix), ptr<double>(wx), want_pos ? ptr<double>(sx) : nullptr,
                  ptr<long long>(cx), ptr<double>(fx), want_pos ? ptr<double>(fsx) : nullptr,
                  tx};
    auto run = [&](auto t) {
        using T = decltype(t);
        const T* s = ptr<T>(src);
        const T* g = ptr<T>(grad);
        T* ds = want_src ? ptr<T>(d_src) : nullptr;
        double* dp = want_pos ? ptr<double>(d_pos) : nullptr;
        auto add = [](T* at, T v) { *at += v; };
        auto point = [&](long long p) {
            gather_vjp_point<T>(p, s, cols, n_ch, y, x, fill, g, ds, dp, add);
        };
        int nthreads = threads_for(n_pts * ty * tx * n_ch, 1 << 12);
        if (!want_src) {                            // nothing shared: any point on any thread
#pragma omp parallel for num_threads(nthreads) schedule(dynamic, 256)
            for (long long p = 0; p < n_pts; ++p) point(p);
            return;
        }
        long long band = std::max(ty, (rows + GATHER_VJP_BANDS - 1) / GATHER_VJP_BANDS);
        long long n_bands = (rows + band - 1) / band;
        std::vector<long long> key(n_pts), start(n_bands + 2, 0), order(n_pts);
        for (long long p = 0; p < n_pts; ++p) {
            long long r0 = rows, r1 = -1;
            for (long long a = 0; a < y.count[p]; ++a)
                if (y.weight[p * ty + a] != 0.0) {
                    r0 = std::min(r0, y.index[p * ty + a]);
                    r1 = std::max(r1, y.index[p * ty + a]);
                }
            key[p] = r1 < 0 ? 0 : (r1 - r0 < band ? r0 / band : n_bands);
            ++start[key[p] + 1];
        }
        for (long long k = 0; k <= n_bands; ++k) start[k + 1] += start[k];
        {
            std::vector<long long> next(start.begin(), start.end() - 1);
            for (long long p = 0; p < n_pts; ++p) order[next[key[p]]++] = p;
        }
        for (int parity = 0; parity < 2; ++parity) {
#pragma omp parallel for num_threads(nthreads) schedule(dynamic, 1)
            for (long long k = parity; k < n_bands; k += 2)
                for (long long j = start[k]; j < start[k + 1]; ++j) point(order[j]);
        }
        for (long long j = start[n_bands]; j < start[n_bands + 1]; ++j) point(order[j]);
    };
    if (is<float>(src)) run(float{});
    else if (is<double>(src)) run(double{});
    else throw std::invalid_argument("gather_vjp: images must be float32 or float64");
}

}  // namespace RESAMPLE_ISA
