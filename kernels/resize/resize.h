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

// Sums are taken relative to a base (sum_base, tap_term and fill_term of kernels/common/store.h), so
// that a constant image stays exactly constant.  Taps go in groups of up to four, summed in
// registers, one pass over the output line per group.

// buf[m] = the taps rows[0..n) with weights w[0..n) (and fw fill) at m, relative to
// sum_base(rows[0][m]) (kernels/common/store.h).
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
#pragma omp parallel num_threads(threads_now())
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
#pragma omp parallel num_threads(threads_now())
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

// Outputs of at least this many bytes are written past the caches (copy_bytes).
constexpr long long SELECT_STREAM_BYTES = 32LL << 20;

// dst[o, j] = src[rows[o], cols[j]] for whole pixels (nearest at whole steps): src (R, C * ch)
// and dst (n_out, n_cols * ch) of one sample type, rows (n_out,) and cols (n_cols,) int64 pixel
// indices.  Each run of output rows that read the same input row (enlarging) is made once and
// copied; a large output is written past the caches.
static void select_samples(const Array& src, const Array& rows, const Array& cols, const Array& dst) {
    long long n_out = dst.shape(0), n_cols = cols.shape(0);
    if (!is<long long>(rows) || !is<long long>(cols) || src.dtype() != dst.dtype() ||
        (n_cols > 0 && dst.shape(1) % n_cols != 0))
        throw std::invalid_argument("select: rows and cols int64, dst of src's type, whole pixels");
    if (n_out == 0 || n_cols == 0) return;
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
    bool stream = n_out * row_out >= SELECT_STREAM_BYTES;
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
