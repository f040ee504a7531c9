// resample's kernel mathematics (kernels/common/device.h): the gradient of point sampling, a
// point at a time, for the CPU loops (kernels/gather/gather.h) and the CUDA kernels
// (kernels/gather/gather.cu).
#pragma once

#include "device.h"

// One axis's taps of the points: per point p, count[p] taps at index[p * width + k] with
// weight[...] (and, where given, slope[...]: d weight / d position), and fill_weight[p]
// (fill_slope[p]).  kernels/common/taps.h's taps_one and taps_slopes_one make them.
struct AxisTaps {
    const long long* index;
    const double* weight;
    const double* slope;          // null: the position's gradient is not wanted
    const long long* count;
    const double* fill_weight;
    const double* fill_slope;
    long long width;
};

// The vector-Jacobian product of point sampling at point p.  The forward (gather) is, per
// channel c of src (rows, cols, n_ch),
//     out[p, c] = sum_a wy[a] (sum_b wx[b] src[iy[a], ix[b], c] + fx fill) + fy fill.
// With grad[p, c] = dL/dout[p, c]: adds grad[p, c] wy[a] wx[b] to d_src[iy[a], ix[b], c]
// through add(address, value) where d_src is given (the adjoint: no fill, which is a
// constant), and where the slopes are given sets d_pos[p] = (dL/dx, dL/dy), x and y the
// point's column and row positions:
//     dL/dx = sum_c grad_c (sum_a wy[a] (sum_b sx[b] v_abc + fsx fill)),
//     dL/dy = sum_c grad_c (sum_a sy[a] (sum_b wx[b] v_abc + fx fill) + fsy fill).
// Taps that neither weigh nor move are skipped (a NaN there is never read).
template <typename T, typename Add>
RESAMPLE_HD void gather_vjp_point(long long p, const T* src, long long cols, long long n_ch,
                                  AxisTaps y, AxisTaps x, double fill, const T* grad,
                                  T* d_src, double* d_pos, Add add) {
    const long long *iy = y.index + p * y.width, *ix = x.index + p * x.width;
    const double *wy = y.weight + p * y.width, *wx = x.weight + p * x.width;
    const double* sy = y.slope ? y.slope + p * y.width : nullptr;
    const double* sx = x.slope ? x.slope + p * x.width : nullptr;
    const T* g = grad + p * n_ch;
    bool slopes = d_pos != nullptr && sy != nullptr && sx != nullptr;
    double total = 0.0;                 // sum_c grad_c, for the fill terms
    for (long long c = 0; c < n_ch; ++c) total += (double)g[c];
    // a fill term where its weight (or slope) is not 0: a NaN or infinite fill that no tap
    // reads moves nothing, as in the forward's fill_term
    auto filled = [&](double w) { return w != 0.0 ? w * fill * total : 0.0; };
    double dx = 0.0, dy = 0.0, weight_y = 0.0;
    for (long long a = 0; a < y.count[p]; ++a) {
        double w_a = wy[a], s_a = slopes ? sy[a] : 0.0;
        if (w_a == 0.0 && s_a == 0.0) continue;
        weight_y += w_a;
        const T* line = src + iy[a] * cols * n_ch;
        T* d_line = d_src ? d_src + iy[a] * cols * n_ch : nullptr;
        double row = 0.0, row_slope = 0.0;   // sum_b wx v g, sum_b sx v g over the channels
        for (long long b = 0; b < x.count[p]; ++b) {
            double w_b = wx[b], s_b = slopes ? sx[b] : 0.0;
            if (w_b == 0.0 && s_b == 0.0) continue;
            const T* v = line + ix[b] * n_ch;
            if (slopes) {
                double seen = 0.0;
                for (long long c = 0; c < n_ch; ++c) seen += (double)g[c] * (double)v[c];
                row += w_b * seen;
                row_slope += s_b * seen;
            }
            double w = w_a * w_b;
            if (d_line && w != 0.0)
                for (long long c = 0; c < n_ch; ++c)
                    add(d_line + ix[b] * n_ch + c, (T)(w * (double)g[c]));
        }
        dx += w_a * row_slope;
        if (s_a != 0.0) dy += s_a * (row + filled(x.fill_weight[p]));
    }
    if (slopes) {
        d_pos[2 * p] = dx + filled(weight_y * x.fill_slope[p]);
        d_pos[2 * p + 1] = dy + filled(y.fill_slope[p]);
    }
}
