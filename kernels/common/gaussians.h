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

// ---- Order 1 (resample/ops/gmm.local_linear; docs/conventions.md): at pixel q, order 0's
// weighted mean moved towards the weighted least-squares plane through the points, by the
// square of the share R2 of the values' spread that the plane explains:
//
//     g = (Cov[p] + lambda I)^-1 Cov[p, v],  lambda = ridge_share trace(Cov[p]) + 1e-12
//     plane = clip(E[v] + g . (q - E[p]), E[v] -+ clip SD[v]) + the first point's value
//     R2 = clip(g . Cov[p, v] / Var[v], 0, 1)  (0 where Var[v] <= 1e-12 E[v^2]: rounding)
//     value = mean + R2^2 (plane - mean)
//
// m: the moments' weighted means at q (5 + 4C: X, Y, XX, XY, YY, then C each of v, vX, vY,
// vv; X, Y from the frame's centre, v less the first point's value); X, Y: q from the
// frame's centre.  In double throughout.
struct PlaneFrame {
    double ex, ey, cxy, a, d, det, px, py;
};

RESAMPLE_HD PlaneFrame plane_frame(const double* m, double X, double Y, double ridge_share) {
    PlaneFrame f;
    f.ex = m[0];
    f.ey = m[1];
    double cxx = m[2] - f.ex * f.ex, cyy = m[4] - f.ey * f.ey;
    f.cxy = m[3] - f.ex * f.ey;
    double ridge = ridge_share * (cxx + cyy) + 1e-12;
    f.a = cxx + ridge;
    f.d = cyy + ridge;
    f.det = f.a * f.d - f.cxy * f.cxy;
    f.px = X - f.ex;
    f.py = Y - f.ey;
    return f;
}

struct PlaneChannel {
    double ev, bx, by, gx, gy, raw, var, root, lo, hi, plane, safe, u, r;
};

RESAMPLE_HD PlaneChannel plane_channel(const PlaneFrame& f, const double* m, int n_ch, int c,
                                       double clip) {
    PlaneChannel p;
    p.ev = m[5 + c];
    p.bx = m[5 + n_ch + c] - p.ev * f.ex;
    p.by = m[5 + 2 * n_ch + c] - p.ev * f.ey;
    p.gx = (f.d * p.bx - f.cxy * p.by) / f.det;
    p.gy = (f.a * p.by - f.cxy * p.bx) / f.det;
    p.raw = p.ev + p.gx * f.px + p.gy * f.py;
    // Var[v] = E[v^2] - E[v]^2 loses what E[v^2] holds to rounding: below 1e-12 of it, 0 (a
    // single point, or equal values), so that R2 is 0 there, not rounding's ratio
    double evv = m[5 + 3 * n_ch + c];
    p.var = evv - p.ev * p.ev;
    if (!(p.var > 1e-12 * evv)) p.var = 0.0;
    p.root = sqrt(p.var);
    p.lo = p.ev - clip * p.root;
    p.hi = p.ev + clip * p.root;
    p.plane = fmin(fmax(p.raw, p.lo), p.hi);
    p.safe = p.var > 0.0 ? p.var : 1.0;
    p.u = (p.gx * p.bx + p.gy * p.by) / p.safe;
    p.r = p.var > 0.0 ? fmin(fmax(p.u, 0.0), 1.0) : 0.0;
    return p;
}

// out (C) at a pixel of order 0's weight z: the blend where z > 0 and it is finite, else mean.
RESAMPLE_HD void gmm_plane_at(const double* m, const double* mean, double z, double X,
                              double Y, const double* first, int n_ch, double ridge_share,
                              double clip, double* out) {
    PlaneFrame f = plane_frame(m, X, Y, ridge_share);
    for (int c = 0; c < n_ch; ++c) {
        PlaneChannel p = plane_channel(f, m, n_ch, c, clip);
        double blended = mean[c] + p.r * p.r * (p.plane + first[c] - mean[c]);
        out[c] = z > 0.0 && isfinite(blended) ? blended : mean[c];
    }
}

// The gradient of gmm_plane_at's blend, given g = dL/d(value) (C): d_m (5 + 4C) and d_mean
// (C), by the chain rule through the clips, R2 and the 2x2 solve.  Where z <= 0 the value
// is mean: d_m = 0, d_mean = g.
RESAMPLE_HD void gmm_plane_vjp_at(const double* m, const double* mean, double z, double X,
                                  double Y, const double* first, int n_ch, double ridge_share,
                                  double clip, const double* g, double* d_m, double* d_mean) {
    if (!(z > 0.0)) {
        for (int k = 0; k < 5 + 4 * n_ch; ++k) d_m[k] = 0.0;
        for (int c = 0; c < n_ch; ++c) d_mean[c] = g[c];
        return;
    }
    PlaneFrame f = plane_frame(m, X, Y, ridge_share);
    double d_ex = 0.0, d_ey = 0.0, d_a = 0.0, d_d = 0.0, d_cxy = 0.0;
    for (int c = 0; c < n_ch; ++c) {
        PlaneChannel p = plane_channel(f, m, n_ch, c, clip);
        double r = p.r, gc = g[c];
        d_mean[c] = gc * (1.0 - r * r);
        double d_plane = gc * r * r;
        double d_r = gc * 2.0 * r * (p.plane + first[c] - mean[c]);
        double d_u = p.var > 0.0 && p.u > 0.0 && p.u < 1.0 ? d_r : 0.0;
        double d_gx = d_u * p.bx / p.safe, d_gy = d_u * p.by / p.safe;
        double d_bx = d_u * p.gx / p.safe, d_by = d_u * p.gy / p.safe;
        double d_var = -d_u * p.u / p.safe;
        bool below = p.raw <= p.lo;
        double d_raw = p.raw > p.lo && p.raw < p.hi ? d_plane : 0.0;
        double d_lo = below ? d_plane : 0.0;
        double d_hi = p.raw >= p.hi && !below ? d_plane : 0.0;
        double d_ev = d_lo + d_hi + d_raw;
        double d_root = clip * (d_hi - d_lo);
        if (p.root > 0.0) d_var += d_root / (2.0 * p.root);
        if (!(p.var > 0.0)) d_var = 0.0;
        d_ev -= 2.0 * p.ev * d_var;
        d_gx += d_raw * f.px;
        d_gy += d_raw * f.py;
        d_ex -= d_raw * p.gx;
        d_ey -= d_raw * p.gy;
        // g = M^-1 b, M = [[a, cxy], [cxy, d]]: b gets M^-1 d_g, M gets -(M^-1 d_g) g^T
        double hx = (f.d * d_gx - f.cxy * d_gy) / f.det;
        double hy = (f.a * d_gy - f.cxy * d_gx) / f.det;
        d_bx += hx;
        d_by += hy;
        d_a -= hx * p.gx;
        d_d -= hy * p.gy;
        d_cxy -= hx * p.gy + hy * p.gx;
        d_ev -= d_bx * f.ex + d_by * f.ey;
        d_ex -= d_bx * p.ev;
        d_ey -= d_by * p.ev;
        d_m[5 + c] = d_ev;
        d_m[5 + n_ch + c] = d_bx;
        d_m[5 + 2 * n_ch + c] = d_by;
        d_m[5 + 3 * n_ch + c] = d_var;
    }
    double spread = ridge_share * (d_a + d_d);      // lambda = ridge_share (cxx + cyy) + eps
    double d_cxx = d_a + spread, d_cyy = d_d + spread;
    d_m[0] = d_ex - 2.0 * f.ex * d_cxx - f.ey * d_cxy;
    d_m[1] = d_ey - 2.0 * f.ey * d_cyy - f.ex * d_cxy;
    d_m[2] = d_cxx;
    d_m[3] = d_cxy;
    d_m[4] = d_cyy;
}
