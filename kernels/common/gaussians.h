// resample's kernel mathematics (kernels/common/device.h): Gaussian mixtures, their
// footprints, gradients and steering.
#pragma once

#include "device.h"

// ---- Gaussian mixtures (docs/conventions.md): point i is a Gaussian of sigma (sx_i, sy_i); pixel q
// (x = column, y = row) gets w_i(q) = exp(-r2 / 2) / (2 pi sx_i sy_i) where
// r2 = ((x - x_i)/sx_i)^2 + ((y - y_i)/sy_i)^2 <= cutoff^2, else 0.

// The pixels a point can reach (rows r0..r1, columns c0..c1, clipped to the frame) and its
// Gaussian's normalisation 1 / (2 pi sx sy).  Bounds are clamped as doubles before the
// conversion, which is undefined beyond the integer range (a huge cutoff or sigma).
struct Footprint {
    long long r0, r1, c0, c1;
    double norm;
};

RESAMPLE_HD Footprint footprint(double x, double y, double ax, double ay, double cutoff,
                                long long height, long long width) {
    Footprint f;
    f.r0 = (long long)fmin(fmax(ceil(y - cutoff * ay), 0.0), (double)height);
    f.r1 = (long long)fmin(fmax(floor(y + cutoff * ay), -1.0), (double)(height - 1));
    f.c0 = (long long)fmin(fmax(ceil(x - cutoff * ax), 0.0), (double)width);
    f.c1 = (long long)fmin(fmax(floor(x + cutoff * ax), -1.0), (double)(width - 1));
    f.norm = 1.0 / (2.0 * 3.14159265358979323846 * ax * ay);
    return f;
}

// A steered Gaussian (docs/conventions.md): axes sx, sy rotated by theta (cos c, sin s) from the x axis
// towards y.  With d = q - mu: u = c dx + s dy, v = -s dx + c dy, r2 = (u/sx)^2 + (v/sy)^2.
// Its footprint is the bounding box of the cutoff ellipse; the normaliser stays
// 1 / (2 pi sx sy).  theta = 0 gives footprint() exactly.
RESAMPLE_HD Footprint footprint_steered(double x, double y, double sx, double sy, double c,
                                        double s, double cutoff, long long height,
                                        long long width) {
    if (s == 0.0) return footprint(x, y, sx, sy, cutoff, height, width);
    double hx = sqrt(sx * sx * c * c + sy * sy * s * s);
    double hy = sqrt(sx * sx * s * s + sy * sy * c * c);
    Footprint f = footprint(x, y, hx, hy, cutoff, height, width);
    f.norm = 1.0 / (2.0 * 3.14159265358979323846 * sx * sy);
    return f;
}

// Backward (docs/conventions.md's exact gradients) for point p, gathered over its footprint:
// dL/dv_p = sum_q g(q) w_p / z, and with t = <g(q), v_p - c(q)> w_p / z:
// dL/dtheta_p = sum t dlog(w_p)/dtheta for theta = x, y, sx, sy and the rotation (below).
// Arrays: xy (N, 2), values (N, C), grad and colour (H, W, C), z (H, W).
RESAMPLE_HD void gmm_vjp_one(long long p, const double* xy, const double* values,
                             const double* sx, const double* sy, const double* theta,
                             int n_ch, double cutoff, const double* grad, const double* colour,
                             const double* z, long long height, long long width,
                             double* d_xy, double* d_values, double* d_sx, double* d_sy,
                             double* d_theta, double* column_weights) {
    // theta may be null (no rotation; d_theta is then not written).  column_weights: scratch
    // for exp(-ex^2 / 2) of the footprint's columns when the Gaussian is not rotated (it is
    // then separable), or null to take one exp per pixel.
    double x = xy[2 * p], y = xy[2 * p + 1], ax = sx[p], ay = sy[p];
    double th = theta != nullptr ? theta[p] : 0.0;
    double c = th != 0.0 ? cos(th) : 1.0, s = th != 0.0 ? sin(th) : 0.0;
    bool rotated = s != 0.0;
    double cut2 = cutoff * cutoff;
    Footprint f = footprint_steered(x, y, ax, ay, c, s, cutoff, height, width);
    double gx = 0, gy = 0, gsx = 0, gsy = 0, gth = 0;
    const int LOCAL = 4;                  // channels summed in registers
    double dv[LOCAL] = {0, 0, 0, 0};
    for (int ch = 0; ch < n_ch; ++ch) d_values[p * n_ch + ch] = 0;
    bool columns = column_weights != nullptr && !rotated;
    if (columns)
        for (long long col = f.c0; col <= f.c1; ++col) {
            double ex = (col - x) / ax;
            column_weights[col - f.c0] = exp(-0.5 * ex * ex);
        }
    // dw/dx = w (eu c / sx - ev s / sy), dw/dy = w (eu s / sx + ev c / sy),
    // dw/dsx = w (eu^2 - 1) / sx, dw/dsy = w (ev^2 - 1) / sy,
    // dw/dtheta = w eu ev (sx / sy - sy / sx), with eu = u / sx and ev = v / sy
    double iax = 1.0 / ax, iay = 1.0 / ay, spin = ax / ay - ay / ax;
    double cx = c * iax, sx_ = s * iax, cy = c * iay, sy_ = s * iay;
    for (long long r = f.r0; r <= f.r1; ++r) {
        double dy = r - y;
        double ey0 = dy / ay;
        if (!rotated && ey0 * ey0 > cut2) continue;
        double row_weight = rotated ? f.norm : exp(-0.5 * ey0 * ey0) * f.norm;
        for (long long col = f.c0; col <= f.c1; ++col) {
            double dx = col - x;
            double eu = rotated ? cx * dx + sx_ * dy : dx / ax;
            double ev = rotated ? cy * dy - sy_ * dx : ey0;
            double r2 = eu * eu + ev * ev;
            long long q = r * width + col;
            if (r2 > cut2 || z[q] <= 0) continue;
            double shape = rotated ? exp(-0.5 * r2)
                         : (columns ? column_weights[col - f.c0] : exp(-0.5 * eu * eu));
            double w_over_z = shape * row_weight / z[q];
            double inner = 0;
            for (int ch = 0; ch < n_ch; ++ch) {
                double g = grad[q * n_ch + ch];
                if (ch < LOCAL) dv[ch] += g * w_over_z;
                else d_values[p * n_ch + ch] += g * w_over_z;
                inner += g * (values[p * n_ch + ch] - colour[q * n_ch + ch]);
            }
            double t = inner * w_over_z;
            gx += t * (eu * cx - ev * sy_);
            gy += t * (eu * sx_ + ev * cy);
            gsx += t * (eu * eu - 1.0);
            gsy += t * (ev * ev - 1.0);
            gth += t * eu * ev;
        }
    }
    for (int ch = 0; ch < n_ch && ch < LOCAL; ++ch) d_values[p * n_ch + ch] = dv[ch];
    d_xy[2 * p] = gx;
    d_xy[2 * p + 1] = gy;
    d_sx[p] = gsx * iax;
    d_sy[p] = gsy * iay;
    if (d_theta != nullptr) d_theta[p] = gth * spin;
}

// ---- sigma="steered" (resample/gmm.py's steered_sigma), point p with its k nearest other
// points idx[p k + j] at squared distances d2[p k + j]; arrays per point: gradient (N, 2),
// tensor (N, 3) as (t11, t12, t22), out (N, 3) as (sx, sy, theta).

// The weighted least-squares plane through the neighbours' values (weights 1 / (d^2 + 1e-6),
// 1e-9 added to the normal matrix's diagonal): its slope (d/dx, d/dy).
RESAMPLE_HD void plane_gradient_one(long long p, const double* xy, const double* v,
                                    const long long* idx, const double* d2, int k,
                                    double* gradient) {
    double a11 = 1e-9, a12 = 0.0, a22 = 1e-9, b1 = 0.0, b2 = 0.0;
    for (int j = 0; j < k; ++j) {
        long long q = idx[p * k + j];
        double dx = xy[2 * q] - xy[2 * p], dy = xy[2 * q + 1] - xy[2 * p + 1];
        double w = 1.0 / (1e-6 + d2[p * k + j]), dv = v[q] - v[p];
        a11 += w * dx * dx;
        a12 += w * dx * dy;
        a22 += w * dy * dy;
        b1 += w * dx * dv;
        b2 += w * dy * dv;
    }
    double det = a11 * a22 - a12 * a12;
    gradient[2 * p] = det != 0.0 ? (a22 * b1 - a12 * b2) / det : 0.0;
    gradient[2 * p + 1] = det != 0.0 ? (a11 * b2 - a12 * b1) / det : 0.0;
}

// The structure tensor: the outer products of the point's and its neighbours' gradients.
RESAMPLE_HD void structure_one(long long p, const double* gradient, const long long* idx,
                               int k, double* tensor) {
    double gx = gradient[2 * p], gy = gradient[2 * p + 1];
    double t11 = gx * gx, t12 = gx * gy, t22 = gy * gy;
    for (int j = 0; j < k; ++j) {
        long long q = idx[p * k + j];
        double hx = gradient[2 * q], hy = gradient[2 * q + 1];
        t11 += hx * hx;
        t12 += hx * hy;
        t22 += hy * hy;
    }
    tensor[3 * p] = t11;
    tensor[3 * p + 1] = t12;
    tensor[3 * p + 2] = t22;
}

// The tensor's larger eigenvalue (how strongly the values change across the edge).
RESAMPLE_HD double structure_strength(const double* t) {
    return (t[0] + t[2]) / 2 + hypot((t[0] - t[2]) / 2, t[1]);
}

// The Gaussian: area size^2, stretched along the edge by
// e = min(((l1 + eps) / (l2 + eps))^(alpha / 2), max_stretch) and narrowed across it by 1 / e.
RESAMPLE_HD void steer_one(long long p, const double* tensor, const double* size, double eps,
                           double alpha, double max_stretch, double* out) {
    const double* t = tensor + 3 * p;
    double half = (t[0] + t[2]) / 2, radius = hypot((t[0] - t[2]) / 2, t[1]);
    double l1 = half + radius, l2 = fmax(half - radius, 0.0);
    double e = pow((l1 + eps) / (l2 + eps), alpha / 2);
    e = fmin(fmax(e, 1.0), max_stretch);
    double across = 0.5 * atan2(2.0 * t[1], t[0] - t[2]);
    out[3 * p] = size[p] * e;
    out[3 * p + 1] = size[p] / e;
    out[3 * p + 2] = across + 1.57079632679489661923;
}

// A pixel's colour from its sums: out[c] = sum[c * step] / zq where zq > 0, else 0.
template <typename W>
RESAMPLE_HD void gmm_normalise_at(W zq, const W* sum, long long step, W* out, int n_ch) {
    W inv = zq > W(0) ? W(1) / zq : W(0);
    for (int ch = 0; ch < n_ch; ++ch) out[ch] = sum[ch * step] * inv;
}

// out[q, :] = acc[:, q] / z[q] where z > 0, else 0 (acc: C planes of n_pixels).
template <typename W>
RESAMPLE_HD void gmm_normalise_one(long long q, const W* acc, const W* z, W* out,
                                   long long n_pixels, int n_ch) {
    gmm_normalise_at<W>(z[q], acc + q, n_pixels, out + q * n_ch, n_ch);
}
