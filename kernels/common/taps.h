// resample's kernel mathematics (kernels/common/device.h): methods, boundaries and tap tables.
#pragma once

#include "device.h"

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

// dK/du of method_weight, from the left where K has a kink (bilinear at 0 and +-1; nearest
// and box, piecewise constant, 0): a weight K(i - x) then changes with x at the rate
// -method_slope(i - x) as x grows, the derivative from the right in x, as grid_sample's.
RESAMPLE_HD double method_slope(int method, double u) {
    double a = fabs(u), s = u > 0.0 ? 1.0 : -1.0;           // u = 0 counts as from the left
    if (method == METHOD_BILINEAR) return (u > -1.0 && u <= 1.0) ? -s : 0.0;
    if (method == METHOD_BICUBIC || method == METHOD_SHARPCUBIC) {
        const double k = method == METHOD_BICUBIC ? -0.5 : -0.75;
        if (a < 1.0) return s * (3.0 * (k + 2.0) * a - 2.0 * (k + 3.0)) * a;
        if (a < 2.0) return s * k * ((3.0 * a - 10.0) * a + 8.0);
        return 0.0;
    }
    if (method == METHOD_LANCZOS) {          // (sinc(u) sinc(u / 3))'
        if (a >= 3.0) return 0.0;
        if (a < 1e-4) return -u * 3.14159265358979323846 * 3.14159265358979323846 * (10.0 / 27.0);
        double v = u / 3.0, pu = 3.14159265358979323846 * u;
        double su = sinc_pi(u), sv = sinc_pi(v);
        double du = (cos(pu) - su) / u, dv = (cos(pu / 3.0) - sv) / v;
        return du * sv + su * dv / 3.0;
    }
    if (method == METHOD_MITCHELL) {
        if (a < 1.0) return s * (3.5 * a - 4.0) * a;
        if (a < 2.0) return s * ((-7.0 / 6.0 * a + 4.0) * a - 10.0 / 3.0);
        return 0.0;
    }
    if (method == METHOD_GRI) {
        double v = 1.0 - a;
        if (a <= 0.5) return s * (16.0 * a * a - 6.0) * a;
        if (a < 1.5) return -s * (0.5 + 3.0 * v - 8.0 * v * v * v);
        return 0.0;
    }
    return 0.0;
}

// A weight and its derivative with respect to the sample's position x: taps_finish applied to
// these carries the derivative through the normalisation and the boundary (taps_slopes_one).
struct Sloped {
    double v, d;
    RESAMPLE_HD Sloped(double value = 0.0, double slope = 0.0) : v(value), d(slope) {}
    RESAMPLE_HD Sloped& operator+=(const Sloped& o) { v += o.v; d += o.d; return *this; }
    RESAMPLE_HD Sloped& operator/=(const Sloped& o) {
        d = (d - v / o.v * o.d) / o.v;
        v /= o.v;
        return *this;
    }
    RESAMPLE_HD Sloped operator*(double c) const { return Sloped(v * c, d * c); }
    RESAMPLE_HD Sloped operator-() const { return Sloped(-v, -d); }
};
RESAMPLE_HD double value_of(double w) { return w; }
RESAMPLE_HD double value_of(const Sloped& w) { return w.v; }

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
        // near the axis, as it is (map_index folds each tap exactly; folding x itself would
        // round it, taking a point a rounding error below 0 onto 0); far away, folded
        if (fabs(x) < 4.0 * period) return x;
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
template <typename W>           // double, or Sloped for the weights' derivatives
RESAMPLE_HD void taps_finish(long long n, long long width, int boundary, W total,
                             long long* index, W* weight, W* fill) {
    if (value_of(total) != 0.0)
        for (long long k = 0; k < width; ++k) weight[k] /= total;
    *fill = 0.0;
    if (boundary == BOUNDARY_TRUNCATE || boundary == BOUNDARY_CONSTANT) {
        W inside = 0.0, outside = 0.0;
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
        } else if (value_of(inside) != 0.0) {
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

// The taps of the sample at x without antialiasing (stretch 1, as point sampling), as
// taps_one's before merging, with slope[k] and *fill_slope the derivatives of weight[k] and
// *fill with respect to x (from the right where the kernel has a kink: method_slope).  The
// arrays hold taps_width(support, 1, boundary) entries, at most SLOPED_TAPS.
#define SLOPED_TAPS 16
RESAMPLE_HD void taps_slopes_one(double x, long long n, int method, double support,
                                 int boundary, long long* index, double* weight, double* slope,
                                 double* fill, double* fill_slope) {
    double first, end;
    long long i0;
    x = taps_window(x, n, support, boundary, &i0, &first, &end);
    long long width = (long long)ceil(2.0 * support) + 2;
    Sloped w[SLOPED_TAPS], total, f;
    // The taps with i - x in (-support, support], the interval method_slope's one-sided
    // derivatives belong to, decided exactly: i - support <= x < i + support compares x with
    // exact numbers.  The footprint [first, end) of taps_one, from the rounded centre, or a
    // rounded i - x, can take or drop a tap whose weight is a rounding error while its slope
    // is not (bilinear within a ulp of a pixel centre).  A u rounded onto -support (the
    // true one lies above it) is taken just above it.  Nearest and box keep the footprint,
    // whose exact ties they follow; their slopes are 0.
    bool steps = method == METHOD_NEAREST || method == METHOD_BOX;
    for (long long k = 0; k < width; ++k) {
        index[k] = i0 + k;
        double i = (double)(i0 + k), u = i - x;
        bool in = steps ? (i >= first && i < end) : (i - support <= x && x < i + support);
        if (in && !steps && u <= -support) u = nextafter(-support, 0.0);
        w[k] = in ? Sloped(method_weight(method, u), -method_slope(method, u)) : Sloped();
        total += w[k];
    }
    taps_finish(n, width, boundary, total, index, w, &f);
    long long all = boundary == BOUNDARY_EXTRAPOLATE ? 2 * width : width;
    for (long long k = 0; k < all; ++k) {
        weight[k] = w[k].v;
        slope[k] = w[k].d;
    }
    *fill = f.v;
    *fill_slope = f.d;
}
