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


}  // namespace RESAMPLE_ISA
