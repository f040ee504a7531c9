// resample's CPU engine loops, compiled once per instruction set (kernels/cpu/engine.cpp
// dispatches at run time): engine_base.cpp for the target's baseline (x86-64 SSE2, aarch64
// NEON), engine_avx2.cpp with AVX2 and FMA.  Everything here lives in the namespace
// RESAMPLE_ISA, so that no inline function or template compiled with one set of
// instructions can stand in for the other's at link time.  The kernel mathematics shared
// with the GPU is ../resample_math.h, included inside the namespace for the same reason.
//
// Arrays are C-contiguous; images are (rows, cols * channels) here, as resample/cpu.py hands
// them over.  W is the work type (float for 8/16-bit images, double otherwise).
#pragma once
#include "isa.h"
#include "fixed8.h"

namespace RESAMPLE_ISA {

// ---- resize ------------------------------------------------------------------------------------
// Tables (resample/cpu.py): rows yi (n_out, Ty) int64, yw (n_out, Ty) W, yc (n_out,) int64,
// yf (n_out,) W; columns interleaved per channel and tap-major: xi (Tx, M_out) int32 or int64
// (indices into an interleaved input row), xw (Tx, M_out) W, xf (M_out,) W.  Padding taps of
// the columns' table repeat a real index with weight 0.

template <typename W>
struct Clip {
    W lo, hi;
    int rounding;
};

// Sums are taken relative to a base (sum_base, tap_term and fill_term of resample_math.h), so
// that a constant image stays exactly constant.  Taps go in groups of up to four, summed in
// registers, one pass over the output line per group.

// buf[m] = the taps rows[0..n) with weights w[0..n) (and fw fill) at m, relative to
// sum_base(rows[0][m]) (resample_math.h).
template <typename Row, typename W>
static void combine(const Row* const* rows, const W* w, long long n, W fw, W fill,
                    W* __restrict__ buf, long long m_len) {
    if (n == 0) {
        std::fill(buf, buf + m_len, fw * fill);
        return;
    }
    const Row* __restrict__ r0 = rows[0];
    for (long long m = 0; m < m_len; ++m) {
        W b = sum_base<W>((W)r0[m]);
        buf[m] = b + fill_term<W>(fw, fill, b);
    }
    for (long long k = 0; k < n; k += 4) {
        long long size = std::min<long long>(4, n - k);
        const Row* __restrict__ ra = rows[k];
        const Row* __restrict__ rb = rows[k + (size > 1)];
        const Row* __restrict__ rc = rows[k + 2 * (size > 2)];
        const Row* __restrict__ rd = rows[k + 3 * (size > 3)];
        W wa = w[k], wb = size > 1 ? w[k + 1] : W(0), wc = size > 2 ? w[k + 2] : W(0),
          wd = size > 3 ? w[k + 3] : W(0);
        for (long long m = 0; m < m_len; ++m) {
            W b = sum_base<W>((W)r0[m]);
            W v = tap_term<W>(wa, (W)ra[m], b);
            if (size > 1) v += tap_term<W>(wb, (W)rb[m], b);
            if (size > 2) v += tap_term<W>(wc, (W)rc[m], b);
            if (size > 3) v += tap_term<W>(wd, (W)rd[m], b);
            buf[m] += v;
        }
    }
}

// buf[m] += the taps of a group (SIZE of a tap-major table) relative to the base of tap 0's
// value, SIZE loads summed in registers per output.
template <int SIZE, typename I, typename W>
static void gather_group(const W* __restrict__ line, const I* __restrict__ i0,
                         const I* __restrict__ xi, const W* __restrict__ xw, long long m_len,
                         W* __restrict__ buf) {
    const I *ia = xi, *ib = xi + m_len, *ic = xi + 2 * m_len, *id = xi + 3 * m_len;
    const W *wa = xw, *wb = xw + m_len, *wc = xw + 2 * m_len, *wd = xw + 3 * m_len;
    for (long long m = 0; m < m_len; ++m) {
        W b = sum_base<W>(line[i0[m]]);
        W v = tap_term<W>(wa[m], line[ia[m]], b);
        if (SIZE > 1) v += tap_term<W>(wb[m], line[ib[m]], b);
        if (SIZE > 2) v += tap_term<W>(wc[m], line[ic[m]], b);
        if (SIZE > 3) v += tap_term<W>(wd[m], line[id[m]], b);
        buf[m] += v;
    }
}

// buf[m] = sum_k xw[k, m] line[xi[k, m]] + xf[m] fill (xf may be null: no fill term).
template <typename I, typename W>
static void gather_line(const W* __restrict__ line, const I* __restrict__ xi,
                        const W* __restrict__ xw, const W* __restrict__ xf, W fill,
                        long long taps, long long m_len, W* __restrict__ buf) {
    for (long long m = 0; m < m_len; ++m) {
        W b = sum_base<W>(line[xi[m]]);
        buf[m] = xf != nullptr ? b + fill_term<W>(xf[m], fill, b) : b;
    }
    for (long long k = 0; k < taps; k += 4) {
        long long size = std::min<long long>(4, taps - k);
        const I* i = xi + k * m_len;
        const W* w = xw + k * m_len;
        if (size == 4) gather_group<4, I, W>(line, xi, i, w, m_len, buf);
        else if (size == 3) gather_group<3, I, W>(line, xi, i, w, m_len, buf);
        else if (size == 2) gather_group<2, I, W>(line, xi, i, w, m_len, buf);
        else gather_group<1, I, W>(line, xi, i, w, m_len, buf);
    }
}

template <typename T, typename W>
static void store_row(const W* __restrict__ acc, T* __restrict__ out, long long m_len,
                      Clip<W> clip) {
    const W lo = clip.lo, hi = clip.hi;
    if (clip.rounding) {
        for (long long m = 0; m < m_len; ++m) out[m] = store_sample<T, W>(acc[m], lo, hi, 1);
    } else {
        for (long long m = 0; m < m_len; ++m) out[m] = (T)acc[m];
    }
}

// The loops below run a per-line worker that takes its arguments by value: an OpenMP region
// shares the enclosing function's variables through memory, and a store through an 8-bit
// pointer may alias any of them, which would make the compiler reload each one on every
// iteration (and give up vectorising).  Arguments by value live in registers.

// Per output row: combine input rows (vertical), then gather along the row (horizontal).
template <typename T, typename I, typename W>
struct RowsFirst {
    const T* src; long long m_in; const long long* yi; const W* yw; const long long* yc;
    const W* yf; long long ty; const I* xi; const W* xw; const W* xf; long long tx; W fill;
    T* dst; long long m_out; Clip<W> clip;
};

template <typename T, typename I, typename W>
static void rows_first_row(const RowsFirst<T, I, W> a, long long o, const T** rows, W* line,
                           W* acc) {
    long long n = a.yc[o];
    for (long long k = 0; k < n; ++k) rows[k] = a.src + a.yi[o * a.ty + k] * a.m_in;
    combine<T, W>(rows, a.yw + o * a.ty, n, a.yf[o], a.fill, line, a.m_in);
    gather_line<I, W>(line, a.xi, a.xw, a.xf, a.fill, a.tx, a.m_out, acc);
    store_row<T, W>(acc, a.dst + o * a.m_out, a.m_out, a.clip);
}

template <typename T, typename I, typename W>
static void resize_rows_first(const RowsFirst<T, I, W> a, long long n_out) {
#pragma omp parallel num_threads(threads())
    {
        std::vector<W> line(a.m_in), acc(a.m_out);
        std::vector<const T*> rows(a.ty);
#pragma omp for schedule(dynamic, 4)
        for (long long o = 0; o < n_out; ++o)
            rows_first_row<T, I, W>(a, o, rows.data(), line.data(), acc.data());
    }
}

// Per band of output rows: resample input rows horizontally into a small cache (each row once
// per band, least recently used slot replaced), then combine the cached rows vertically.
template <typename T, typename I, typename W>
static void cols_first_band(const RowsFirst<T, I, W> a, long long o0, long long o1,
                            long long n_slots, W* cache, long long* tag, long long* last_use,
                            const W** rows, W* line, W* acc) {
    for (long long s = 0; s < n_slots; ++s) tag[s] = last_use[s] = -1;
    for (long long o = o0; o < o1; ++o) {
        long long n = a.yc[o];
        for (long long k = 0; k < n; ++k) {
            long long r = a.yi[o * a.ty + k];
            long long slot = cached_row(r, o, n_slots, tag, last_use, [&](long long s) {
                const T* __restrict__ in = a.src + r * a.m_in;
                for (long long m = 0; m < a.m_in; ++m) line[m] = (W)in[m];
                gather_line<I, W>(line, a.xi, a.xw, a.xf, a.fill, a.tx, a.m_out,
                                  cache + s * a.m_out);
            });
            rows[k] = cache + slot * a.m_out;
        }
        combine<W, W>(rows, a.yw + o * a.ty, n, a.yf[o], a.fill, acc, a.m_out);
        store_row<T, W>(acc, a.dst + o * a.m_out, a.m_out, a.clip);
    }
}

template <typename T, typename I, typename W>
static void resize_cols_first(const RowsFirst<T, I, W> a, long long n_out, long long n_bands) {
    long long band = (n_out + n_bands - 1) / n_bands;
    long long n_slots = a.ty + 1;        // one more than any output needs: one is free
#pragma omp parallel num_threads(threads())
    {
        std::vector<W> cache(n_slots * a.m_out), acc(a.m_out), line(a.m_in);
        std::vector<long long> tag(n_slots), last_use(n_slots);
        std::vector<const W*> rows(a.ty);
#pragma omp for schedule(dynamic, 1)
        for (long long b = 0; b < n_bands; ++b)
            cols_first_band<T, I, W>(a, b * band, std::min(n_out, (b + 1) * band), n_slots,
                                     cache.data(), tag.data(), last_use.data(), rows.data(),
                                     line.data(), acc.data());
    }
}

static void resize(const Array& src, const Array& yi, const Array& yw, const Array& yc,
                   const Array& yf, const Array& xi, const Array& xw, const Array& xf,
                   double fill, const Array& dst, double lo, double hi, int rounding,
                   bool rows_first, long long n_bands) {
    long long m_in = src.shape(1), n_out = dst.shape(0), m_out = dst.shape(1);
    long long ty = yi.shape(1), tx = xi.shape(0);
    if (src.dtype() != dst.dtype()) throw std::invalid_argument("src and dst types differ");
    with_sample_type(src, [&](auto t) {
        using T = decltype(t);
        with_work_type(yw, [&](auto w) {
            using W = decltype(w);
            Clip<W> clip{(W)lo, (W)hi, rounding};
            const W* fill_cols = ptr<W>(xf);
            if (std::all_of(fill_cols, fill_cols + m_out, [](W v) { return v == W(0); }))
                fill_cols = nullptr;
            auto run = [&](auto i) {
                using I = decltype(i);
                RowsFirst<T, I, W> a{ptr<T>(src), m_in, ptr<long long>(yi), ptr<W>(yw),
                                     ptr<long long>(yc), ptr<W>(yf), ty, ptr<I>(xi),
                                     ptr<W>(xw), fill_cols, tx, (W)fill, ptr<T>(dst), m_out,
                                     clip};
                if (rows_first)
                    resize_rows_first<T, I, W>(a, n_out);
                else
                    resize_cols_first<T, I, W>(a, n_out, std::max<long long>(1, n_bands));
            };
            if (is<int32_t>(xi)) run(int32_t{});
            else run((long long)0);
        });
    });
}

template <typename T, typename I>
static void copy_selected(const T* __restrict__ in, const I* __restrict__ cols,
                          T* __restrict__ out, long long m_out) {
    for (long long m = 0; m < m_out; ++m) out[m] = in[cols[m]];
}

// dst[o, m] = src[rows[o], cols[m]]: every output copies one input sample.
static void select_samples(const Array& src, const Array& rows, const Array& cols, const Array& dst) {
    long long m_in = src.shape(1), n_out = dst.shape(0), m_out = dst.shape(1);
    with_sample_type(src, [&](auto t) {
        using T = decltype(t);
        const T* s = ptr<T>(src);
        T* d = ptr<T>(dst);
        const long long* r = ptr<long long>(rows);
        auto run = [&](auto i) {
            using I = decltype(i);
            const I* c = ptr<I>(cols);
#pragma omp parallel for num_threads(threads()) schedule(static)
            for (long long o = 0; o < n_out; ++o)
                copy_selected<T, I>(s + r[o] * m_in, c, d + o * m_out, m_out);
        };
        if (is<int32_t>(cols)) run(int32_t{});
        else run((long long)0);
    });
}

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
#pragma omp parallel for num_threads(threads()) schedule(static, 256)
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

// ---- 8-bit images in fixed point: fixed8.h (included above) ------------------------------------

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
#pragma omp parallel num_threads(threads())
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
#pragma omp parallel for num_threads(threads()) schedule(static) reduction(+ : holes)
        for (long long q = 0; q < n_pixels; ++q) {
            gmm_normalise_one<V>(q, a, zz, o, n_pixels, (int)n_ch);
            holes += zz[q] > V(0) ? 0 : 1;
        }
    };
    if (is<float>(acc)) run(float{});
    else run(double{});
    return holes;
}

// theta and d_theta: (N,), or empty arrays for unrotated Gaussians.
static void gmm_vjp(const Array& xy, const Array& values, const Array& sx, const Array& sy,
                    const Array& theta, double cutoff, const Array& grad, const Array& colour,
                    const Array& z, const Array& d_xy, const Array& d_values, const Array& d_sx,
                    const Array& d_sy, const Array& d_theta) {
    long long n = xy.shape(0), n_ch = values.shape(1), height = z.shape(0), width = z.shape(1);
    const double* rot = theta.size() ? ptr<double>(theta) : nullptr;
    double* d_rot = d_theta.size() ? ptr<double>(d_theta) : nullptr;
#pragma omp parallel num_threads(threads())
    {
        std::vector<double> columns(width);      // a footprint's column weights
#pragma omp for schedule(dynamic, 64)
        for (long long p = 0; p < n; ++p)
            gmm_vjp_one(p, ptr<double>(xy), ptr<double>(values), ptr<double>(sx),
                        ptr<double>(sy), rot, (int)n_ch, cutoff, ptr<double>(grad),
                        ptr<double>(colour), ptr<double>(z), height, width, ptr<double>(d_xy),
                        ptr<double>(d_values), ptr<double>(d_sx), ptr<double>(d_sy), d_rot,
                        columns.data());
    }
}

// ---- sigma="steered": plane fits, structure tensors, then each point's Gaussian (three
// parallel passes of resample_math.h's per-point functions; eps from the median strength).
static void steer(const Array& xy_a, const Array& v_a, const Array& idx_a, const Array& d2_a,
                  const Array& size_a, double alpha, double max_stretch, const Array& out_a) {
    long long n = idx_a.shape(0);
    int k = (int)idx_a.shape(1);
    const double *xy = ptr<double>(xy_a), *v = ptr<double>(v_a), *d2 = ptr<double>(d2_a);
    const double* size = ptr<double>(size_a);
    const long long* idx = ptr<long long>(idx_a);
    double* out = ptr<double>(out_a);
    std::vector<double> gradient(2 * n), tensor(3 * n), strength(n);
#pragma omp parallel num_threads(threads())
    {
#pragma omp for schedule(static)
        for (long long p = 0; p < n; ++p) plane_gradient_one(p, xy, v, idx, d2, k, gradient.data());
#pragma omp for schedule(static)
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
#pragma omp parallel for num_threads(threads()) schedule(static)
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
#pragma omp parallel for num_threads(threads()) schedule(dynamic, 256)
    for (long long s = 0; s < n_queries; ++s)
        knn_one(visit[s], ptr<double>(cell_xy), ptr<long long>(order), ptr<long long>(start),
                x0, y0, cell, nx, ny, ptr<double>(queries), k, exclude_self ? 1 : 0,
                ptr<double>(d2), ptr<long long>(idx));
}

static void contrast(const Array& values, const Array& idx, const Array& e) {
    long long n = values.shape(0), n_ch = values.shape(1), n_nb = idx.shape(1);
    auto run = [&](auto v) {
        using V = decltype(v);
#pragma omp parallel for num_threads(threads()) schedule(static)
        for (long long p = 0; p < n; ++p)
            contrast_one<V>(p, ptr<V>(values), ptr<long long>(idx), (int)n_ch, (int)n_nb,
                            ptr<double>(e));
    };
    if (is<float>(values)) run(float{});
    else run(double{});
}

// The nearest point of every pixel (resample_math.h's two passes).  Pass 1 sweeps blocks of
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
#pragma omp parallel num_threads(threads())
    {
        std::vector<long long> edge(block);
#pragma omp for schedule(static)
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
#pragma omp for schedule(static)
        for (long long i = 0; i < height; ++i)
            nearest_row_one(i, xy, best.data(), width, out, v.data(), va.data(), vf.data(),
                            z.data());
    }
}

// ---- PNG row filters ---------------------------------------------------------------------------
static inline int paeth(int a, int b, int c) {
    int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
    return (pa <= pb && pa <= pc) ? a : (pb <= pc ? b : c);
}

// Each row of rows (H, S) goes to out (H, S + 1) as its filter byte and the output of the
// filter (None, Sub, Up, Average, Paeth) whose bytes, read as signed, have the smallest sum of
// absolute values (the heuristic of libpng and Pillow).
static void png_filter(const Array& rows, long long bpp, const Array& out) {
    long long height = rows.shape(0), stride = rows.shape(1);
    const uint8_t* in = ptr<uint8_t>(rows);
    uint8_t* o = ptr<uint8_t>(out);
#pragma omp parallel num_threads(threads())
    {
        std::vector<uint8_t> cand(5 * stride);
#pragma omp for schedule(static)
        for (long long y = 0; y < height; ++y) {
            const uint8_t* cur = in + y * stride;
            const uint8_t* prev = y > 0 ? cur - stride : nullptr;
            long long score[5] = {0, 0, 0, 0, 0};
            for (long long i = 0; i < stride; ++i) {
                int x = cur[i], a = i >= bpp ? cur[i - bpp] : 0, b = prev ? prev[i] : 0;
                int c = (prev && i >= bpp) ? prev[i - bpp] : 0;
                int f[5] = {x, x - a, x - b, x - ((a + b) >> 1), x - paeth(a, b, c)};
                for (int k = 0; k < 5; ++k) {
                    uint8_t v = (uint8_t)(f[k] & 0xFF);
                    cand[k * stride + i] = v;
                    score[k] += v < 128 ? v : 256 - v;
                }
            }
            int best = 0;
            for (int k = 1; k < 5; ++k)
                if (score[k] < score[best]) best = k;
            uint8_t* row = o + y * (stride + 1);
            row[0] = (uint8_t)best;
            std::copy(cand.begin() + best * stride, cand.begin() + (best + 1) * stride, row + 1);
        }
    }
}

// Undo the filters of raw (at least H x (S + 1) bytes) into out (H, S); false on an unknown
// filter type.
static bool png_unfilter(const Array& raw, long long bpp, const Array& out) {
    long long height = out.shape(0), stride = out.shape(1);
    const uint8_t* in = ptr<uint8_t>(raw);
    uint8_t* o = ptr<uint8_t>(out);
    for (long long y = 0; y < height; ++y) {
        const uint8_t* line = in + y * (stride + 1) + 1;
        int type = in[y * (stride + 1)];
        uint8_t* cur = o + y * stride;
        const uint8_t* prev = y > 0 ? cur - stride : nullptr;
        if (type > 4) return false;
        for (long long i = 0; i < stride; ++i) {
            int a = i >= bpp ? cur[i - bpp] : 0, b = prev ? prev[i] : 0;
            int c = (prev && i >= bpp) ? prev[i - bpp] : 0, x = line[i];
            if (type == 1) x += a;
            else if (type == 2) x += b;
            else if (type == 3) x += (a + b) >> 1;
            else if (type == 4) x += paeth(a, b, c);
            cur[i] = (uint8_t)(x & 0xFF);
        }
    }
    return true;
}


resample_cpu::Kernels kernels() {
    return resample_cpu::Kernels{resize, resize_fixed8, select_samples, gather, gmm_splat, gmm_normalise,
                   gmm_vjp, steer, knn, contrast, nearest_map, png_filter, png_unfilter};
}

}  // namespace RESAMPLE_ISA
