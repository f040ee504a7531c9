// resample: the kernel mathematics that both engines compile, once.
//
// kernels/resample.cu (CUDA, compiled by NVRTC at run time) and kernels/cpu/engine.cpp (the
// C++ CPU engine, compiled by the package's build) include this header, so rounding and
// storing, Gaussian footprints and gradients, nearest-point searches and the distance
// transform cannot drift apart between the devices.  Each per-item function takes the item's
// index (a point, a query, a pixel line): a GPU runs one thread per item, the CPU engine a
// parallel loop over them.  Plain C++17 that also compiles as CUDA device code: no standard
// library beyond <cmath>, no exceptions, no allocation.
#pragma once

#if !defined(__CUDACC__) && !defined(__CUDACC_RTC__)
#include <cmath>
#ifndef __device__
#define __device__
#define __host__
#define __forceinline__ inline
#endif
using std::ceil;
using std::exp;
using std::sin;
using std::cos;
using std::sqrt;
using std::atan2;
using std::hypot;
using std::pow;
using std::fabs;
using std::floor;
using std::fmax;
using std::fmin;
#endif

#define RESAMPLE_HD __host__ __device__ __forceinline__

// ---- Storing: integer outputs are rounded half up, floor(v + 0.5), and clipped to [lo, hi]
// (NaN stores lo); float outputs are stored as they are.  W is the work type (float or
// double); lo and hi are whole numbers within the 64-bit integer range.  The floor is an
// integer conversion after clipping (truncation is the floor from 0 up), not a call to floor,
// which baseline x86-64 (SSE2) has no instruction for.
template <typename W>
RESAMPLE_HD W store_value(W v, W lo, W hi, int rounding) {
    if (!rounding) return v;
    v = v + W(0.5);
    v = v >= lo ? v : lo;
    v = v <= hi ? v : hi;
    if (v >= W(0)) return (W)(unsigned long long)v;
    long long t = (long long)v;
    return (W)(t - ((W)t > v ? 1 : 0));
}

// store_value converted to the output type T: for samples of at most 16 bits the floor is a
// 32-bit conversion (one vectorisable instruction on any x86-64), with the same result.
template <typename T, typename W>
RESAMPLE_HD T store_sample(W v, W lo, W hi, int rounding) {
    if (!rounding || sizeof(T) > 2) return (T)store_value<W>(v, lo, hi, rounding);
    v = v + W(0.5);
    v = v >= lo ? v : lo;
    v = v <= hi ? v : hi;
    int t = (int)v;
    return (T)(t - ((W)t > v ? 1 : 0));
}

// ---- Sums of taps.  sum_k w_k v_k + fw fill, with the weights and fw summing to 1, is taken
// as base + sum_k w_k (v_k - base) + fw (fill - base), base the first tap's value: then a
// constant image stays exactly constant whatever the rounding of the weights.  Where that
// value is not finite, or so large that v - base could overflow, base is 0: the plain sum
// (an infinite sample stays infinite).  A tap of weight 0 adds nothing, whatever it reads.
template <typename W>
RESAMPLE_HD W sum_base(W v0) {
    const W big = sizeof(W) == 4 ? W(8.0e37) : W(4.0e307);     // a quarter of the range
    return (v0 >= -big && v0 <= big) ? v0 : W(0);
}

template <typename W>
RESAMPLE_HD W tap_term(W w, W v, W base) {
    return w != W(0) ? w * (v - base) : W(0);
}

template <typename W>
RESAMPLE_HD W fill_term(W fw, W fill, W base) {
    return fw != W(0) ? fw * (fill - base) : W(0);
}

// ---- Methods and tap tables (resample/methods.py names them; resample/taps.py documents the
// conventions).  A method is a 1-D kernel K(u), u in input pixels after antialias stretching,
// zero for |u| >= its support.  Ids: 0 nearest, 1 bilinear (triangle), 2 bicubic (Keys,
// a = -0.5), 3 lanczos (3 lobes), 4 gri (the 3x3 quartic of docs/conventions.md), 5 mitchell, 6 box,
// 7 sharpcubic (Keys, a = -0.75: OpenCV's INTER_CUBIC).
enum { METHOD_NEAREST = 0, METHOD_BILINEAR, METHOD_BICUBIC, METHOD_LANCZOS, METHOD_GRI,
       METHOD_MITCHELL, METHOD_BOX, METHOD_SHARPCUBIC };

// Boundaries: how a tap beyond the axis [0, n) reads.
enum { BOUNDARY_EDGE = 0, BOUNDARY_REFLECT, BOUNDARY_MIRROR, BOUNDARY_WRAP, BOUNDARY_CONSTANT,
       BOUNDARY_EXTRAPOLATE, BOUNDARY_TRUNCATE };

#if !defined(__CUDACC__)
// The names of the methods and boundaries above, in the order of their numbers: the one list
// resample/methods.py takes them from (through resample._core).
static const char* const METHOD_NAMES[] = {"nearest", "bilinear", "bicubic", "lanczos", "gri",
                                           "mitchell", "box", "sharpcubic"};
static const char* const BOUNDARY_NAMES[] = {"edge", "reflect", "mirror", "wrap", "constant",
                                             "extrapolate", "truncate"};
static_assert(sizeof(METHOD_NAMES) / sizeof(METHOD_NAMES[0]) == METHOD_SHARPCUBIC + 1,
              "a method without a name");
static_assert(sizeof(BOUNDARY_NAMES) / sizeof(BOUNDARY_NAMES[0]) == BOUNDARY_TRUNCATE + 1,
              "a boundary without a name");
#endif

RESAMPLE_HD double sinc_pi(double u) {
    double y = 3.14159265358979323846 * u;
    return sin(y) / y;
}

RESAMPLE_HD double method_weight(int method, double u) {
    if (method == METHOD_NEAREST || method == METHOD_BOX)   // half-open: i = floor(x + 0.5)
        return (u > -0.5 && u <= 0.5) ? 1.0 : 0.0;
    double a = fabs(u);
    if (method == METHOD_BILINEAR) return a < 1.0 ? 1.0 - a : 0.0;
    if (method == METHOD_BICUBIC || method == METHOD_SHARPCUBIC) {   // Keys' cubic
        const double k = method == METHOD_BICUBIC ? -0.5 : -0.75;
        if (a < 1.0) return ((k + 2.0) * a - (k + 3.0)) * a * a + 1.0;
        if (a < 2.0) return (((a - 5.0) * a + 8.0) * a - 4.0) * k;
        return 0.0;
    }
    if (method == METHOD_LANCZOS) {          // exactly 0 at non-zero integers, 1 at 0
        if (a >= 3.0) return 0.0;
        if (a == floor(a)) return a == 0.0 ? 1.0 : 0.0;
        return sinc_pi(u) * sinc_pi(u / 3.0);
    }
    if (method == METHOD_MITCHELL) {         // Mitchell-Netravali, B = C = 1/3
        if (a < 1.0) return ((7.0 / 6.0) * a - 2.0) * a * a + 8.0 / 9.0;
        if (a < 2.0) return ((-7.0 / 18.0 * a + 2.0) * a - 10.0 / 3.0) * a + 16.0 / 9.0;
        return 0.0;
    }
    if (method == METHOD_GRI) {
        double v = 1.0 - a, a2 = a * a, v2 = v * v;
        if (a <= 0.5) return 1.0 - 3.0 * a2 + 4.0 * a2 * a2;
        if (a < 1.5) return 0.5 * v + 1.5 * v2 - 2.0 * v2 * v2;
        return 0.0;
    }
    return 0.0;
}

// An in-range index for tap position i of an axis of n, for the index-remapping boundaries
// (edge, reflect cba|abcd|dcb, mirror dcb|abcd|cba, wrap).
RESAMPLE_HD long long map_index(long long i, long long n, int boundary) {
    if (boundary == BOUNDARY_WRAP) return ((i % n) + n) % n;
    if (boundary == BOUNDARY_REFLECT) {
        long long m = ((i % (2 * n)) + 2 * n) % (2 * n);
        return m < n ? m : 2 * n - 1 - m;
    }
    if (boundary == BOUNDARY_MIRROR) {
        if (n == 1) return 0;
        long long p = 2 * n - 2, m = ((i % p) + p) % p;
        return m < n ? m : p - m;
    }
    return i < 0 ? 0 : (i > n - 1 ? n - 1 : i);
}

// Far-away positions brought near the axis without changing what they sample.
RESAMPLE_HD double fold_position(double x, long long n, double support, int boundary) {
    if (boundary == BOUNDARY_EDGE || boundary == BOUNDARY_CONSTANT ||
        boundary == BOUNDARY_TRUNCATE)
        return fmin(fmax(x, -support - 1.0), (double)n + support);
    double period = boundary == BOUNDARY_WRAP ? (double)n
                  : boundary == BOUNDARY_REFLECT ? 2.0 * n
                  : boundary == BOUNDARY_MIRROR ? fmax(2.0 * n - 2.0, 1.0) : 0.0;
    if (period > 0.0) {
        double m = x - floor(x / period) * period;      // Python's x % period
        return m >= period ? m - period : m;
    }
    return fmin(fmax(x, -1099511627776.0), 1099511627776.0);     // extrapolate: +-2^40
}

// Taps per position before merging: the kernel's reach plus two (twice that for extrapolate,
// whose taps outside read two edge samples).
RESAMPLE_HD long long taps_width(double support, double stretch, int boundary) {
    long long w = (long long)ceil(2.0 * support * stretch) + 2;
    return boundary == BOUNDARY_EXTRAPOLATE ? 2 * w : w;
}

// The taps of the sample at position x of an axis of n (x = i is the centre of sample i):
// index[k], weight[k] for k < taps_width(...), and *fill the weight of the fill value.
// Weights are normalised to sum 1 with the fill weight.  truncate (Pillow, torch with
// antialias=True): taps outside are dropped and the rest reweighted, a sample with none
// inside takes the fill; constant: taps outside read the fill; extrapolate: linear through the
// two edge samples, a[-d] = (1 + d) a[0] - d a[1]; the rest remap indices (map_index).
// The window of the taps of the sample at x: returns the position folded near the axis, and
// sets the first tap *i0 and the footprint [*first, *end) of the taps that may weigh (as
// Pillow's precompute_coeffs: only the taps in [floor(c - reach + 0.5), floor(c + reach + 0.5))
// with c = x + 0.5 the output's centre; for the continuous kernels the taps outside weigh 0
// anyway; for box, exact ties (a tap centre on the footprint's edge) fall as in Pillow BOX).
RESAMPLE_HD double taps_window(double x, long long n, double reach, int boundary,
                               long long* i0, double* first, double* end) {
    x = fold_position(x, n, reach, boundary);
    *i0 = (long long)floor(x - reach);
    double centre = x + 0.5;
    *first = floor(centre - reach + 0.5);
    *end = floor(centre + reach + 0.5);
    return x;
}

// The raw weights of the taps index[k] = i0 + k (k < width), which sum to total, normalised
// to sum 1 and the boundary applied (see taps_one); index and weight hold taps_width entries.
RESAMPLE_HD void taps_finish(long long n, long long width, int boundary, double total,
                             long long* index, double* weight, double* fill) {
    if (total != 0.0)
        for (long long k = 0; k < width; ++k) weight[k] /= total;
    *fill = 0.0;
    if (boundary == BOUNDARY_TRUNCATE || boundary == BOUNDARY_CONSTANT) {
        double inside = 0.0, outside = 0.0;
        for (long long k = 0; k < width; ++k) {
            bool out = index[k] < 0 || index[k] >= n;
            if (out) {
                outside += weight[k];
                weight[k] = 0.0;
            }
            inside += weight[k];
            index[k] = index[k] < 0 ? 0 : (index[k] > n - 1 ? n - 1 : index[k]);
        }
        if (boundary == BOUNDARY_CONSTANT) {
            *fill = outside;
        } else if (inside != 0.0) {
            for (long long k = 0; k < width; ++k) weight[k] /= inside;
        } else {
            *fill = 1.0;
        }
    } else if (boundary == BOUNDARY_EXTRAPOLATE && n > 1) {
        for (long long k = 0; k < width; ++k) {
            long long i = index[k];
            bool low = i < 0, out = low || i > n - 1;
            double over = out ? (low ? (double)-i : (double)(i - (n - 1))) : 0.0;
            index[width + k] = out ? (low ? 1 : n - 2) : 0;
            weight[width + k] = out ? -weight[k] * over : 0.0;
            index[k] = out ? (low ? 0 : n - 1) : i;
            weight[k] = weight[k] * (1.0 + over);
        }
    } else {
        int b = boundary == BOUNDARY_EXTRAPOLATE ? BOUNDARY_EDGE : boundary;
        for (long long k = 0; k < width; ++k) index[k] = map_index(index[k], n, b);
        if (boundary == BOUNDARY_EXTRAPOLATE)           // n == 1: the edge, no second taps
            for (long long k = 0; k < width; ++k) {
                index[width + k] = 0;
                weight[width + k] = 0.0;
            }
    }
}

RESAMPLE_HD void taps_one(double x, long long n, int method, double support, double stretch,
                          int boundary, long long* index, double* weight, double* fill) {
    double reach = support * stretch, first, end;
    long long i0;
    x = taps_window(x, n, reach, boundary, &i0, &first, &end);
    long long width = (long long)ceil(2.0 * reach) + 2;
    double total = 0.0, inverse = 1.0 / stretch;   // u = (i - x) times 1 / stretch, as Pillow
    for (long long k = 0; k < width; ++k) {
        index[k] = i0 + k;
        double i = (double)(i0 + k);
        weight[k] = (i >= first && i < end) ? method_weight(method, (i - x) * inverse) : 0.0;
        total += weight[k];
    }
    taps_finish(n, width, boundary, total, index, weight, fill);
}

// ---- 8-bit images in fixed point (as Pillow-SIMD and OpenCV): weights are integers,
// w * 2^FIXED_BITS; the first pass keeps samples as integers v * 2^FIXED_FRAC (16 bits).
// fixed_weights rounds n weights, then gives the rounding residual to the largest, so that
// they sum to round(sum w * 2^FIXED_BITS) exactly: a constant image stays constant.  With
// d_k = q_k / 2^FIXED_BITS - w_k, it returns max(sum of the positive d_k, sum of the negative
// ones' magnitudes) + |sum_k d_k|: times the width of the samples' range, a bound on what the
// rounding adds to a sum.  *gain is sum_k |q_k| / 2^FIXED_BITS (how far a sum can reach
// beyond its samples' range).
constexpr int FIXED_BITS = 14;
constexpr int FIXED_FRAC = 6;

RESAMPLE_HD double fixed_weights(const double* w, int n, int* q, double* gain) {
    const double one = (double)(1 << FIXED_BITS);
    double total = 0.0;
    long long sum = 0;
    int largest = 0;
    for (int k = 0; k < n; ++k)
        if (!(fabs(w[k]) <= 2.0)) {        // beyond 16 bits (or not a number): no fixed point
            *gain = 1e300;
            return 1e300;
        }
    for (int k = 0; k < n; ++k) {
        total += w[k];
        q[k] = (int)floor(w[k] * one + 0.5);
        sum += q[k];
        if (fabs(w[k]) > fabs(w[largest])) largest = k;
    }
    if (n > 0) q[largest] += (int)((long long)floor(total * one + 0.5) - sum);
    for (int k = 0; k < n; ++k)
        if (q[k] > 32767 || q[k] < -32768) {     // (a weight of 2 would need 2^15)
            *gain = 1e300;
            return 1e300;
        }
    double up = 0.0, down = 0.0, reach = 0.0;
    for (int k = 0; k < n; ++k) {
        double d = q[k] / one - w[k];
        up += d > 0.0 ? d : 0.0;
        down += d < 0.0 ? -d : 0.0;
        reach += fabs((double)q[k]) / one;
    }
    *gain = reach;
    return fmax(up, down) + fabs(up - down);
}

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

// ---- Nearest points, through a uniform grid of square cells (resample/gmm.py's PointGrid):
// cell (i, j) covers x in [x0 + i cell, x0 + (i + 1) cell), y likewise (the border cells
// also hold the points beyond them), and holds the points order[start[j nx + i] ..
// start[j nx + i + 1]), whose coordinates cell_xy holds in that order (read in sequence).  For query p, the k nearest points (squared distances and indices,
// ascending; ties in the order the cells are visited), found ring by ring around the
// query's cell until no unvisited cell can hold a nearer point.  exclude_self: query p is
// point p, which is skipped.  k is at most the number of points (less one with
// exclude_self).  The output rows d2[p], idx[p] are the working lists.
// Candidate i at squared distance d into the k best so far (best_d ascending, *found of
// them): kept where fewer than k are found or it is nearer than the k-th.
RESAMPLE_HD void knn_insert(double d, long long i, int k, int* found, double* best_d,
                            long long* best_i) {
    if (*found == k && !(d < best_d[k - 1])) return;
    int m = *found < k ? (*found)++ : k - 1;
    while (m > 0 && best_d[m - 1] > d) {
        best_d[m] = best_d[m - 1];
        best_i[m] = best_i[m - 1];
        --m;
    }
    best_d[m] = d;
    best_i[m] = i;
}

RESAMPLE_HD void knn_one(long long p, const double* cell_xy, const long long* order,
                         const long long* start, double x0, double y0, double cell,
                         long long nx, long long ny, const double* queries, int k,
                         int exclude_self, double* d2, long long* idx) {
    double qx = queries[2 * p], qy = queries[2 * p + 1];
    double* best_d = d2 + p * k;
    long long* best_i = idx + p * k;
    int found = 0;
    double fx = fmin(fmax(floor((qx - x0) / cell), 0.0), (double)(nx - 1));
    double fy = fmin(fmax(floor((qy - y0) / cell), 0.0), (double)(ny - 1));
    long long cx = (long long)fx, cy = (long long)fy;
    for (long long r = 0;; ++r) {
        long long j0 = cy - r < 0 ? 0 : cy - r, j1 = cy + r > ny - 1 ? ny - 1 : cy + r;
        for (long long j = j0; j <= j1; ++j) {
            // the ring's top and bottom rows whole; the rows between, their two ends only
            long long step = (j == cy - r || j == cy + r || r == 0) ? 1 : 2 * r;
            for (long long i = cx - r; i <= cx + r; i += step) {
                if (i < 0 || i >= nx) continue;
                long long c = j * nx + i;
                for (long long s = start[c]; s < start[c + 1]; ++s) {
                    long long t = order[s];
                    if (exclude_self && t == p) continue;
                    double dx = cell_xy[2 * s] - qx, dy = cell_xy[2 * s + 1] - qy;
                    knn_insert(dx * dx + dy * dy, t, k, &found, best_d, best_i);
                    if (found == k && best_d[k - 1] <= 0.0) return;   // none can be nearer
                }
            }
        }
        // the distance from q to the cells not visited yet (no cells beyond a side: none)
        bool bounded = false;
        double bound = 0;
        double side[4] = {qx - (x0 + (cx - r) * cell), x0 + (cx + r + 1) * cell - qx,
                          qy - (y0 + (cy - r) * cell), y0 + (cy + r + 1) * cell - qy};
        bool more[4] = {cx - r > 0, cx + r < nx - 1, cy - r > 0, cy + r < ny - 1};
        for (int e = 0; e < 4; ++e)
            if (more[e] && (!bounded || side[e] < bound)) {
                bound = side[e];
                bounded = true;
            }
        if (!bounded || (found == k && best_d[k - 1] <= bound * bound && bound > 0)) break;
    }
}

// e[p] = mean over the listed neighbours idx[p, :] and channels of |v[neighbour] - v[p]|.
template <typename V>
RESAMPLE_HD void contrast_one(long long p, const V* values, const long long* idx, int n_ch,
                              int n_nb, double* e) {
    double total = 0;
    for (int j = 0; j < n_nb; ++j) {
        long long q = idx[p * n_nb + j];
        for (int ch = 0; ch < n_ch; ++ch)
            total += fabs((double)values[q * n_ch + ch] - (double)values[p * n_ch + ch]);
    }
    e[p] = total / ((double)n_nb * n_ch);
}

// ---- Nearest point of every pixel: an exact Euclidean distance transform of the points'
// pixels (Felzenszwalb and Huttenlocher, "Distance Transforms of Sampled Functions", 2012),
// with the points' own positions as the parabolas' vertices.  seeds (H, W) holds, per pixel,
// the point that falls in it (the one nearest its centre) or -1.  Pass 1, along each column:
// for each pixel, the point of that column nearest in y, which is the nearer of the last
// seed at or above the pixel and the first at or below it (one seed a pixel, so their y
// increase down the column).  Pass 2, a row at a time: the point whose
// (x - px)^2 + (y - py)^2 is least among the columns' choices, through the lower envelope of
// their parabolas, which lives in v, va, vf (sites, their vertices and heights) and z (where
// each begins): n and n + 1 entries of scratch for a row of n pixels.

// Pass 1's choice for row i between the seeds above and below it (-1: none); ties go below.
RESAMPLE_HD long long nearer_in_y(long long i, const double* xy, long long above,
                                  long long below) {
    if (above < 0) return below;
    if (below < 0) return above;
    return fabs(xy[2 * below + 1] - (double)i) <= fabs((double)i - xy[2 * above + 1]) ? below
                                                                                        : above;
}

// Adds site s (vertex a, at least every vertex so far; height f); returns the new top k.
RESAMPLE_HD long long envelope_add(long long* v, double* va, double* vf, double* z,
                                   long long k, long long s, double a, double f) {
    while (k >= 0) {
        double at = va[k], ft = vf[k];
        if (a == at) {
            if (f >= ft) return k;           // the same vertex, no lower: s adds nothing
            --k;                             // s is below the top site everywhere
            continue;
        }
        double sect = ((f + a * a) - (ft + at * at)) / (2.0 * (a - at));
        if (k > 0 && sect <= z[k]) {
            --k;                             // the top site is hidden from sect on
            continue;
        }
        ++k;
        v[k] = s; va[k] = a; vf[k] = f; z[k] = sect;
        return k;
    }
    v[0] = s; va[0] = a; vf[0] = f; z[0] = 0.0;     // z[0] is never read: from -infinity
    return 0;
}

// out[q * stride] = the site lowest at position q, for q = 0..n-1 (-1 without sites).
RESAMPLE_HD void envelope_read(const long long* v, const double* z, long long k, long long n,
                               long long* out, long long stride) {
    long long t = 0;
    for (long long q = 0; q < n; ++q) {
        while (t < k && z[t + 1] <= (double)q) ++t;
        out[q * stride] = k < 0 ? -1 : v[t];
    }
}

// Pass 1 for column j: best[i, j] = the seed of column j nearest to row i in y.
RESAMPLE_HD void nearest_column_one(long long j, const double* xy, const long long* seeds,
                                    long long height, long long width, long long* best) {
    long long above = -1;
    for (long long i = 0; i < height; ++i) {
        long long p = seeds[i * width + j];
        if (p >= 0) above = p;
        best[i * width + j] = above;
    }
    long long below = -1;
    for (long long i = height - 1; i >= 0; --i) {
        long long p = seeds[i * width + j];
        if (p >= 0) below = p;
        best[i * width + j] = nearer_in_y(i, xy, best[i * width + j], below);
    }
}

// Pass 2 for row i: nearest[i, j] = the point of least distance among best[i, :].
RESAMPLE_HD void nearest_row_one(long long i, const double* xy, const long long* best,
                                 long long width, long long* nearest, long long* v,
                                 double* va, double* vf, double* z) {
    long long k = -1;
    for (long long j = 0; j < width; ++j) {
        long long p = best[i * width + j];
        if (p < 0) continue;
        double dy = (double)i - xy[2 * p + 1];
        k = envelope_add(v, va, vf, z, k, p, xy[2 * p], dy * dy);
    }
    envelope_read(v, z, k, width, nearest + i * width, 1);
}
