// Resizing on the CPU: the float loops of the separable resize (rows first, or columns first
// through a cache of resampled rows), and the copy of selected samples (nearest at whole
// steps).  In namespace RESAMPLE_ISA (kernels/cpu/isa.h), compiled once per instruction set.
#pragma once

#include "../cpu/isa.h"

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

// Sums are taken relative to a base (sum_base, tap_term and fill_term of
// kernels/common/store.h), so that a constant image stays exactly constant.  The rows' pass
// (combine) takes its taps in groups of up to four, summed in registers, one pass per group
// over chunks of the line; the columns' pass (gather_line, gather_pixels) adds one fused
// multiply-add a tap, in the table's order.

// buf[m] += a group of SIZE rows' taps at m, relative to sum_base(r0[m]), summed in registers;
// the first group (FIRST 1, or 2 with a fill weight fw) sets buf[m] = (base + fill term) + its
// sum.  The rows are this function's own restrict parameters, so that the compiler vectorises
// the loop without checking at run time whether they overlap buf (restrict on local variables
// is not taken into account); the vector loop and its scalar tail are the same code, so they
// round alike.
template <int SIZE, int FIRST, typename Row, typename W>
static void combine_group(const Row* __restrict__ r0, const Row* __restrict__ ra,
                          const Row* __restrict__ rb, const Row* __restrict__ rc,
                          const Row* __restrict__ rd, W wa, W wb, W wc, W wd, W fw, W fill,
                          W* __restrict__ buf, long long m_len) {
    for (long long m = 0; m < m_len; ++m) {
        W b = sum_base<W>((W)r0[m]);
        W v = tap_term<W>(wa, (W)ra[m], b);
        if (SIZE > 1) v += tap_term<W>(wb, (W)rb[m], b);
        if (SIZE > 2) v += tap_term<W>(wc, (W)rc[m], b);
        if (SIZE > 3) v += tap_term<W>(wd, (W)rd[m], b);
        if (FIRST == 2) buf[m] = (b + fw * (fill - b)) + v;
        else if (FIRST == 1) buf[m] = b + v;
        else buf[m] += v;
    }
}

// Outputs summed at a time along a line: their sums stay in the first-level cache while each
// group of taps adds to them (the order of the sums is the same as over the whole line).
constexpr long long LINE_CHUNK = 512;

// buf[m] = the taps rows[0..n) + off with weights w[0..n) (and fw fill) at m, relative to
// sum_base(rows[0][off + m]) (kernels/common/store.h).
template <typename Row, typename W>
static void combine(const Row* const* rows, long long off, const W* w, long long n, W fw,
                    W fill, W* __restrict__ buf, long long m_len) {
    if (n == 0) {
        std::fill(buf, buf + m_len, fw * fill);
        return;
    }
    const Row* r0 = rows[0] + off;
    for (long long k = 0; k < n; k += 4) {
        long long size = std::min<long long>(4, n - k);
        const Row* ra = rows[k] + off;
        const Row* rb = rows[k + (size > 1)] + off;
        const Row* rc = rows[k + 2 * (size > 2)] + off;
        const Row* rd = rows[k + 3 * (size > 3)] + off;
        W wa = w[k], wb = size > 1 ? w[k + 1] : W(0), wc = size > 2 ? w[k + 2] : W(0),
          wd = size > 3 ? w[k + 3] : W(0);
        auto group = [&](auto first) {
            constexpr int F = decltype(first)::value;
            if (size == 4)
                combine_group<4, F, Row, W>(r0, ra, rb, rc, rd, wa, wb, wc, wd, fw, fill, buf, m_len);
            else if (size == 3)
                combine_group<3, F, Row, W>(r0, ra, rb, rc, rd, wa, wb, wc, wd, fw, fill, buf, m_len);
            else if (size == 2)
                combine_group<2, F, Row, W>(r0, ra, rb, rc, rd, wa, wb, wc, wd, fw, fill, buf, m_len);
            else
                combine_group<1, F, Row, W>(r0, ra, rb, rc, rd, wa, wb, wc, wd, fw, fill, buf, m_len);
        };
        if (k > 0) group(std::integral_constant<int, 0>{});
        else if (fw == W(0)) group(std::integral_constant<int, 1>{});
        else group(std::integral_constant<int, 2>{});
    }
}

// w * d + acc, fused where the instruction set has FMA (the AVX2 build): the columns' pass
// states each multiply-add, so that its scalar loop (gather_group) and its vector loops
// (gather_group_wide, gather_pixels) round alike, and a pixel's channels come out as each
// channel alone.
#ifdef __AVX2__
static inline double madd(double w, double d, double acc) {
    return _mm_cvtsd_f64(_mm_fmadd_sd(_mm_set_sd(w), _mm_set_sd(d), _mm_set_sd(acc)));
}
static inline float madd(float w, float d, float acc) {
    return _mm_cvtss_f32(_mm_fmadd_ss(_mm_set_ss(w), _mm_set_ss(d), _mm_set_ss(acc)));
}
#else
template <typename W>
static inline W madd(W w, W d, W acc) { return w * d + acc; }
#endif

// buf[m] += the taps of a group (SIZE of a tap-major table, rows stride apart) relative to the
// base of tap 0's value, one multiply-add a tap in the table's order (a zero weight skipped:
// it adds nothing, whatever it reads).
template <int SIZE, typename I, typename W>
static void gather_group(const W* __restrict__ line, const I* __restrict__ i0,
                         const I* __restrict__ xi, const W* __restrict__ xw, long long stride,
                         long long m_len, W* __restrict__ buf) {
    for (long long m = 0; m < m_len; ++m) {
        W b = sum_base<W>(line[i0[m]]);
        W acc = buf[m];
        for (int k = 0; k < SIZE; ++k) {
            W w = xw[k * stride + m];
            if (w != W(0)) acc = madd(w, line[xi[k * stride + m]] - b, acc);
        }
        buf[m] = acc;
    }
}

#ifdef __AVX2__
// 4 doubles or 8 floats in one AVX2 register, with a gather by 32-bit indices (a load and a
// permute where the indices lie within one register's width of the first: enlarging).
template <typename W> struct Wide;
template <> struct Wide<double> {
    using V = __m256d;
    static constexpr int n = 4;
    static V set(double v) { return _mm256_set1_pd(v); }
    static V load(const double* p) { return _mm256_loadu_pd(p); }
    static void store(double* p, V v) { _mm256_storeu_pd(p, v); }
    static V gather(const double* line, const int* at) {
        __m128i idx = _mm_loadu_si128((const __m128i*)at);
        __m128i rel = _mm_sub_epi32(idx, _mm_set1_epi32(at[0]));
        if (_mm_movemask_epi8(_mm_cmplt_epi32(rel, _mm_setzero_si128())) == 0 &&
            _mm_movemask_epi8(_mm_cmpgt_epi32(rel, _mm_set1_epi32(3))) == 0) {
            // every index within 4 samples of the first: one load and a permute
            __m256i two = _mm256_slli_epi64(_mm256_cvtepu32_epi64(rel), 1);
            __m256i pairs = _mm256_or_si256(two, _mm256_slli_epi64(
                _mm256_add_epi64(two, _mm256_set1_epi64x(1)), 32));
            return _mm256_castps_pd(_mm256_permutevar8x32_ps(
                _mm256_castpd_ps(_mm256_loadu_pd(line + at[0])), pairs));
        }
        return _mm256_i32gather_pd(line, idx, 8);
    }
    static V sub(V a, V b) { return _mm256_sub_pd(a, b); }
    static V band(V a, V b) { return _mm256_and_pd(a, b); }
    static V ge(V a, V b) { return _mm256_cmp_pd(a, b, _CMP_GE_OQ); }
    static V le(V a, V b) { return _mm256_cmp_pd(a, b, _CMP_LE_OQ); }
    static V ne(V a, V b) { return _mm256_cmp_pd(a, b, _CMP_NEQ_UQ); }
    static V fmadd(V w, V d, V acc) { return _mm256_fmadd_pd(w, d, acc); }
    static V blend(V a, V b, V mask) { return _mm256_blendv_pd(a, b, mask); }
};
template <> struct Wide<float> {
    using V = __m256;
    static constexpr int n = 8;
    static V set(float v) { return _mm256_set1_ps(v); }
    static V load(const float* p) { return _mm256_loadu_ps(p); }
    static void store(float* p, V v) { _mm256_storeu_ps(p, v); }
    static V gather(const float* line, const int* at) {
        __m256i idx = _mm256_loadu_si256((const __m256i*)at);
        __m256i rel = _mm256_sub_epi32(idx, _mm256_set1_epi32(at[0]));
        if (_mm256_movemask_epi8(_mm256_or_si256(
                _mm256_cmpgt_epi32(_mm256_setzero_si256(), rel),
                _mm256_cmpgt_epi32(rel, _mm256_set1_epi32(7)))) == 0)
            // every index within 8 samples of the first: one load and a permute
            return _mm256_permutevar8x32_ps(_mm256_loadu_ps(line + at[0]), rel);
        return _mm256_i32gather_ps(line, idx, 4);
    }
    static V sub(V a, V b) { return _mm256_sub_ps(a, b); }
    static V band(V a, V b) { return _mm256_and_ps(a, b); }
    static V ge(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_GE_OQ); }
    static V le(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_LE_OQ); }
    static V ne(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_NEQ_UQ); }
    static V fmadd(V w, V d, V acc) { return _mm256_fmadd_ps(w, d, acc); }
    static V blend(V a, V b, V mask) { return _mm256_blendv_ps(a, b, mask); }
};

// sum_base lane by lane (kernels/common/store.h), for the traits L of a register of W (Wide,
// Quad).
template <typename L, typename W>
static inline typename L::V lanes_base(typename L::V v0) {
    const W big = sum_base_limit<W>();
    return L::band(v0, L::band(L::ge(v0, L::set(-big)), L::le(v0, L::set(big))));
}

// gather_group over whole registers of outputs with AVX2 gathers (32-bit indices): the same
// multiply-adds in the same order, a zero weight's left out by a blend.  Returns how many
// outputs it took; gather_group takes the rest.
template <int SIZE, typename W>
static long long gather_group_wide(const W* __restrict__ line, const int* __restrict__ i0,
                                   const int* __restrict__ xi, const W* __restrict__ xw,
                                   long long stride, long long m_len, W* __restrict__ buf) {
    using L = Wide<W>;
    using V = typename L::V;
    const V zero = L::set(W(0));
    long long m = 0;
    for (; m + L::n <= m_len; m += L::n) {
        V b = lanes_base<L, W>(L::gather(line, i0 + m));
        V acc = L::load(buf + m);
        for (int k = 0; k < SIZE; ++k) {
            V w = L::load(xw + k * stride + m);
            V sum = L::fmadd(w, L::sub(L::gather(line, xi + k * stride + m), b), acc);
            acc = L::blend(acc, sum, L::ne(w, zero));
        }
        L::store(buf + m, acc);
    }
    return m;
}
#endif

// gather_group, over whole registers with AVX2 gathers where the indices are 32-bit.
template <int SIZE, typename I, typename W>
static void gather_group_any(const W* __restrict__ line, const I* __restrict__ i0,
                             const I* __restrict__ xi, const W* __restrict__ xw,
                             long long stride, long long m_len, W* __restrict__ buf) {
    long long done = 0;
#ifdef __AVX2__
    if constexpr (std::is_same<I, int>::value)
        done = gather_group_wide<SIZE, W>(line, i0, xi, xw, stride, m_len, buf);
#endif
    gather_group<SIZE, I, W>(line, i0 + done, xi + done, xw + done, stride, m_len - done,
                             buf + done);
}

// buf[m] = sum_k xw[k, m] line[xi[k, m]] + xf[m] fill (xf may be null: no fill term), in chunks
// of LINE_CHUNK outputs: relative to the base of tap 0's value (kernels/common/store.h), the
// fill's term first, then the taps' in order, each one multiply-add (madd).
template <typename I, typename W>
static void gather_line(const W* __restrict__ line, const I* __restrict__ xi,
                        const W* __restrict__ xw, const W* __restrict__ xf, W fill,
                        long long taps, long long m_len, W* __restrict__ buf) {
    for (long long c = 0; c < m_len; c += LINE_CHUNK) {
        long long len = std::min(LINE_CHUNK, m_len - c);
        for (long long m = c; m < c + len; ++m) {
            W b = sum_base<W>(line[xi[m]]);
            buf[m] = xf != nullptr && xf[m] != W(0) ? madd(xf[m], fill - b, b) : b;
        }
        for (long long k = 0; k < taps; k += 4) {
            long long size = std::min<long long>(4, taps - k);
            const I* i = xi + k * m_len + c;
            const W* w = xw + k * m_len + c;
            if (size == 4) gather_group_any<4, I, W>(line, xi + c, i, w, m_len, len, buf + c);
            else if (size == 3) gather_group_any<3, I, W>(line, xi + c, i, w, m_len, len, buf + c);
            else if (size == 2) gather_group_any<2, I, W>(line, xi + c, i, w, m_len, len, buf + c);
            else gather_group_any<1, I, W>(line, xi + c, i, w, m_len, len, buf + c);
        }
    }
}

// Samples of padding after a line and after each row of the columns' pass: gather_pixels
// reads and writes 4 lanes for pixels of 2 or 3 samples, and gather_group_wide reads a window
// of 8 samples from a tap's first index.
constexpr long long LINE_PAD = 8;

#ifdef __AVX2__
template <typename W> struct Quad;        // 4 lanes of W
template <> struct Quad<double> : Wide<double> {};
template <> struct Quad<float> {
    using V = __m128;
    static V set(float v) { return _mm_set1_ps(v); }
    static V load(const float* p) { return _mm_loadu_ps(p); }
    static void store(float* p, V v) { _mm_storeu_ps(p, v); }
    static V sub(V a, V b) { return _mm_sub_ps(a, b); }
    static V band(V a, V b) { return _mm_and_ps(a, b); }
    static V ge(V a, V b) { return _mm_cmp_ps(a, b, _CMP_GE_OQ); }
    static V le(V a, V b) { return _mm_cmp_ps(a, b, _CMP_LE_OQ); }
    static V fmadd(V w, V d, V acc) { return _mm_fmadd_ps(w, d, acc); }
    static V ne(V a, V b) { return _mm_cmp_ps(a, b, _CMP_NEQ_UQ); }
    static V blend(V a, V b, V mask) { return _mm_blendv_ps(a, b, mask); }
};

// gather_pixels for TAPS taps (0: taps, any number).
template <int TAPS, typename I, typename W>
static void gather_pixels_n(const W* __restrict__ line, const I* __restrict__ xi,
                            const W* __restrict__ xw, const W* __restrict__ xf, W fill,
                            long long taps, long long m_len, long long n_ch,
                            W* __restrict__ buf) {
    using Q = Quad<W>;
    using V = typename Q::V;
    const V fills = Q::set(fill), zero = Q::set(W(0));
    const long long n = TAPS > 0 ? TAPS : taps;
    for (long long m = 0; m < m_len; m += n_ch) {
        V b = lanes_base<Q, W>(Q::load(line + xi[m]));
        V acc = b;
        if (xf != nullptr && xf[m] != W(0)) acc = Q::fmadd(Q::set(xf[m]), Q::sub(fills, b), b);
        const I* i = xi + m;
        const W* wk = xw + m;
        for (long long k = 0; k < n; ++k, i += m_len, wk += m_len) {
            V w = Q::set(*wk);
            acc = Q::blend(acc, Q::fmadd(w, Q::sub(Q::load(line + *i), b), acc), Q::ne(w, zero));
        }
        Q::store(buf + m, acc);
    }
}

// gather_line for pixels of n_ch samples (2 to 4), the columns' table interleaved per channel
// (each pixel's channels read the same input pixel with the same weight): a pixel's samples
// in 4 lanes, each tap one load, one broadcast weight and one fused multiply-add (kept where
// the weight is not 0), in place of n_ch gathers.  The same multiply-adds in the same order
// as gather_line.  line is read, and buf written, up to LINE_PAD samples past their ends (the
// spare lanes of a pixel land on the next pixel, which overwrites them).  Unrolled for up to
// 8 taps.
template <typename I, typename W>
static void gather_pixels(const W* __restrict__ line, const I* __restrict__ xi,
                          const W* __restrict__ xw, const W* __restrict__ xf, W fill,
                          long long taps, long long m_len, long long n_ch,
                          W* __restrict__ buf) {
    auto run = [&](auto n) {
        gather_pixels_n<decltype(n)::value, I, W>(line, xi, xw, xf, fill, taps, m_len, n_ch, buf);
    };
    switch (taps) {
    case 1: run(std::integral_constant<int, 1>{}); break;
    case 2: run(std::integral_constant<int, 2>{}); break;
    case 3: run(std::integral_constant<int, 3>{}); break;
    case 4: run(std::integral_constant<int, 4>{}); break;
    case 5: run(std::integral_constant<int, 5>{}); break;
    case 6: run(std::integral_constant<int, 6>{}); break;
    case 7: run(std::integral_constant<int, 7>{}); break;
    case 8: run(std::integral_constant<int, 8>{}); break;
    default: run(std::integral_constant<int, 0>{});
    }
}
#endif

// buf = the columns' pass of line (gather_line, or gather_pixels for pixels of 2 to 4 samples),
// line and buf padded by LINE_PAD samples.
template <typename I, typename W>
static void cols_pass(const W* __restrict__ line, const I* __restrict__ xi,
                      const W* __restrict__ xw, const W* __restrict__ xf, W fill,
                      long long taps, long long m_len, long long n_ch, W* __restrict__ buf) {
#ifdef __AVX2__
    if (n_ch >= 2 && n_ch <= 4) {
        gather_pixels<I, W>(line, xi, xw, xf, fill, taps, m_len, n_ch, buf);
        return;
    }
#endif
    (void)n_ch;
    gather_line<I, W>(line, xi, xw, xf, fill, taps, m_len, buf);
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
    T* dst; long long m_out; Clip<W> clip; long long n_ch;
};

template <typename T, typename I, typename W>
static void rows_first_row(const RowsFirst<T, I, W> a, long long o, const T** rows, W* line,
                           W* acc) {
    long long n = a.yc[o];
    for (long long k = 0; k < n; ++k) rows[k] = a.src + a.yi[o * a.ty + k] * a.m_in;
    combine<T, W>(rows, 0, a.yw + o * a.ty, n, a.yf[o], a.fill, line, a.m_in);
    cols_pass<I, W>(line, a.xi, a.xw, a.xf, a.fill, a.tx, a.m_out, a.n_ch, acc);
    store_row<T, W>(acc, a.dst + o * a.m_out, a.m_out, a.clip);
}

template <typename T, typename I, typename W>
static void resize_rows_first(const RowsFirst<T, I, W> a, long long n_out) {
#pragma omp parallel num_threads(threads_now())
    {
        std::vector<W> line(a.m_in + LINE_PAD), acc(a.m_out + LINE_PAD);
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
                cols_pass<I, W>(line, a.xi, a.xw, a.xf, a.fill, a.tx, a.m_out, a.n_ch,
                                cache + s * (a.m_out + LINE_PAD));
            });
            rows[k] = cache + slot * (a.m_out + LINE_PAD);
        }
        for (long long c = 0; c < a.m_out; c += LINE_CHUNK) {
            long long len = std::min(LINE_CHUNK, a.m_out - c);
            combine<W, W>(rows, c, a.yw + o * a.ty, n, a.yf[o], a.fill, acc, len);
            store_row<T, W>(acc, a.dst + o * a.m_out + c, len, a.clip);
        }
    }
}

template <typename T, typename I, typename W>
static void resize_cols_first(const RowsFirst<T, I, W> a, long long n_out, long long n_bands) {
    long long band = (n_out + n_bands - 1) / n_bands;
    long long n_slots = a.ty + 1;        // one more than any output needs: one is free
#pragma omp parallel num_threads(threads_now())
    {
        std::vector<W> cache(n_slots * (a.m_out + LINE_PAD)), acc(a.m_out),
            line(a.m_in + LINE_PAD);
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
                   bool rows_first, long long n_bands, long long n_ch) {
    long long m_in = src.shape(1), n_out = dst.shape(0), m_out = dst.shape(1);
    if (n_ch < 1 || m_in % n_ch != 0 || m_out % n_ch != 0)
        throw std::invalid_argument("resize: rows of whole pixels of n_ch samples");
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
                                     clip, n_ch};
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

// One output row of whole pixels of P bytes: out pixel j = in pixel cols[j].  A pixel of 3, 5,
// 6 or 7 bytes is copied as the next power of two, the spare bytes landing on the next pixel,
// which overwrites them (all but the last pixel, and never reading past the input's last one).
template <int P>
static void copy_pixels(const uint8_t* __restrict__ in, const long long* __restrict__ cols,
                        uint8_t* __restrict__ out, long long n, long long last_in) {
    constexpr int WIDE = P == 3 ? 4 : P == 5 || P == 6 || P == 7 ? 8 : P;
    long long j = 0;
    if (WIDE != P)
        for (; j + 1 < n; ++j) {
            long long c = cols[j];
            if (c >= last_in) std::memcpy(out + j * P, in + c * P, P);
            else std::memcpy(out + j * P, in + c * P, WIDE);
        }
    for (; j < n; ++j) std::memcpy(out + j * P, in + cols[j] * P, P);
}

static void copy_pixels_any(const uint8_t* __restrict__ in, const long long* __restrict__ cols,
                            uint8_t* __restrict__ out, long long n, long long pixel) {
    for (long long j = 0; j < n; ++j) std::memcpy(out + j * pixel, in + cols[j] * pixel, pixel);
}

// Copies n bytes; with stream (AVX2), past the caches (non-temporal stores: the output's lines
// are not read from memory before they are written).  The caller fences (_mm_sfence).
static void copy_bytes(uint8_t* __restrict__ out, const uint8_t* __restrict__ in, long long n,
                       bool stream) {
#ifdef __AVX2__
    if (stream && n >= 64) {
        long long head = (32 - (long long)((uintptr_t)out & 31)) & 31;
        std::memcpy(out, in, head);
        long long k = head;
        for (; k + 32 <= n; k += 32)
            _mm256_stream_si256((__m256i*)(out + k),
                                _mm256_loadu_si256((const __m256i*)(in + k)));
        std::memcpy(out + k, in + k, n - k);
        return;
    }
#endif
    (void)stream;
    std::memcpy(out, in, n);
}

// dst[o, j] = src[rows[o], cols[j]] for whole pixels (nearest at whole steps): src (R, C * ch)
// and dst (n_out, n_cols * ch) of one sample type, rows (n_out,) and cols (n_cols,) int64 pixel
// indices.  Each run of output rows that read the same input row (enlarging) is made once and
// copied; a large output is written past the caches.
static void select_samples(const Array& src, const Array& rows, const Array& cols, const Array& dst) {
    long long n_out = dst.shape(0), n_cols = cols.shape(0);
    if (!is<long long>(rows) || !is<long long>(cols) || src.dtype() != dst.dtype() ||
        (n_cols > 0 && dst.shape(1) % n_cols != 0))
        throw std::invalid_argument("select: rows and cols int64, dst of src's type, whole pixels");
    if (n_out == 0 || n_cols == 0 || dst.shape(1) == 0) return;       // nothing to copy
    long long item = (long long)src.itemsize(), n_ch = dst.shape(1) / n_cols;
    long long pixel = n_ch * item, row_in = src.shape(1) * item, row_out = n_cols * pixel;
    long long last_in = src.shape(1) / n_ch - 1;
    const uint8_t* s = ptr<uint8_t>(src);
    uint8_t* d = ptr<uint8_t>(dst);
    const long long* r = ptr<long long>(rows);
    const long long* c = ptr<long long>(cols);
    auto row = [&](const uint8_t* in, uint8_t* out) {
        switch (pixel) {
        case 1: copy_pixels<1>(in, c, out, n_cols, last_in); break;
        case 2: copy_pixels<2>(in, c, out, n_cols, last_in); break;
        case 3: copy_pixels<3>(in, c, out, n_cols, last_in); break;
        case 4: copy_pixels<4>(in, c, out, n_cols, last_in); break;
        case 6: copy_pixels<6>(in, c, out, n_cols, last_in); break;
        case 8: copy_pixels<8>(in, c, out, n_cols, last_in); break;
        case 12: copy_pixels<12>(in, c, out, n_cols, last_in); break;
        case 16: copy_pixels<16>(in, c, out, n_cols, last_in); break;
        default: copy_pixels_any(in, c, out, n_cols, pixel);
        }
    };
    bool stream = n_out * row_out >= STREAM_BYTES;
    const long long band = 16;
    long long bands = (n_out + band - 1) / band;
#pragma omp parallel num_threads(threads_for(n_out * row_out, 1 << 16))
    {
        std::vector<uint8_t> line(stream ? row_out : 0);
#pragma omp for schedule(dynamic, 1)
        for (long long b = 0; b < bands; ++b) {
            long long o = b * band, stop = std::min(n_out, o + band);
            while (o < stop) {
                long long run = o + 1;
                while (run < stop && r[run] == r[o]) ++run;
                const uint8_t* made = d + o * row_out;
                if (stream) {
                    row(s + r[o] * row_in, line.data());
                    made = line.data();
                } else {
                    row(s + r[o] * row_in, d + o * row_out);
                    ++o;
                }
                for (; o < run; ++o) copy_bytes(d + o * row_out, made, row_out, stream);
            }
        }
#ifdef __AVX2__
        if (stream) _mm_sfence();     // the streamed lines written before the threads join
#endif
    }
}


}  // namespace RESAMPLE_ISA
