// 8-bit images in fixed point, as Pillow-SIMD and OpenCV do, in namespace RESAMPLE_ISA
// (kernels/cpu/isa.h; kernels/cpu/engine_impl.h includes this header).  resample/engines/cpu.py
// calls resize_fixed8 first for uint8 images; it declines (answers 0) where the integers cannot
// hold the sums or their rounding could move a result by more than FIXED_MAX_ERROR of a level
// from the exact sum, and the float loops run.
//
// Columns first: each input row is resampled along the row into 16-bit integers
// v * 2^FIXED_FRAC (a small cache of rows per band of outputs: cached_row, as
// resize_cols_first), then each output row sums its cached rows, rounds half up and clips to
// 0..255.  Weights are 16-bit integers.  Each pass sums either 16-bit terms, each product
// rounded as one _mm256_mulhrs_epi16 rounds it (16 samples per instruction, so that three taps
// cost three quarters of four), or, where those roundings could add up beyond the bound
// (many taps: shrinking), exact 32-bit sums of products in pairs.  The mode is chosen for the
// whole image and handed to its blocks (resize_fixed8's mode).  The AVX2 loops compute the
// same integers as the scalar loops, so both instruction sets give identical images.  An
// output larger than the caches is written with non-temporal stores (fixed_store32): its
// lines are not read from memory before they are written.

#pragma once

#include "../cpu/isa.h"

namespace RESAMPLE_ISA {

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

RESAMPLE_HD double fixed_weights(const double* w, int n, int* q, double* gain,
                                 int bits = FIXED_BITS) {
    const double one = (double)(1 << bits);
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
        if (q[k] > 32767 || q[k] < -32768) {     // (a weight of 2 would need 2^15 at 14 bits)
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

// A bound, in levels, on how far the integer rounding may move a result from the exact sum;
// the result then stays within 1 level of the float64 reference.
constexpr double FIXED_MAX_ERROR = 0.25;

// Per output pixel of a row: a contiguous span of input pixels [start, start + width) with
// 16-bit weights (zero outside the taps).  Row n_out is a zero-weight dummy, so that pixels
// can be taken in pairs.
struct FixedCols {
    long long n_out = 0, width = 0, widest = 0;    // width: widest, padded
    int terms = 0;                     // each tap's product rounded: fixed_blocks_fit, or 3
    std::vector<long long> start;      // (n_out + 1)
    std::vector<int16_t> w;            // (n_out + 1, width)
    double error = 0, gain = 0;        // the largest fixed_weights error and gain of a pixel
};

// Per output row: the table's own taps, weights in 16 bits, w * 2^bits.  With terms, the
// rows' pass multiplies each 16-bit sample by its weight and rounds the product to 16 bits,
// as one _mm256_mulhrs_epi16 does: term = (sample * q + 2^14) >> 15, in units of
// 2^(FIXED_FRAC + bits - 15) per level; the terms' sum (which must not leave 16 bits) is
// rounded to the level.  bits is the largest of 15, 14, 13 and 12 at which every weight fits
// 16 bits and no partial sum of terms can leave them (fixed_rows), so that three taps cost
// three multiplies, not two pairs.  Where the terms' rounding adds up beyond the bound (many
// taps: shrinking), the products are summed exactly in 32 bits, in pairs (terms false, bits
// FIXED_BITS).
struct FixedRows {
    long long taps = 0;
    int bits = 15;
    bool terms = true;
    std::vector<int16_t> w;            // (n_out, taps)
    double error = 0, gain = 0;        // error: the weights' rounding (fixed_weights)
};

static bool fixed_rows_at(const double* w, const long long* cnt, long long n_out,
                          int bits, FixedRows& f) {
    long long t = f.taps;
    f.bits = bits;
    f.error = f.gain = 0.0;
    f.w.assign(n_out * t, 0);
    std::vector<int> q(t);
    for (long long o = 0; o < n_out; ++o) {
        double gain;
        double e = fixed_weights(w + o * t, (int)cnt[o], q.data(), &gain, bits);
        f.error = std::max(f.error, e);
        f.gain = std::max(f.gain, gain);
        if (f.gain > 2.0) return false;
        for (long long k = 0; k < cnt[o]; ++k) f.w[o * t + k] = (int16_t)q[k];
    }
    return true;
}

// The terms of a row's sum, in units of the term: at most this many (a sample is at most
// 255 * 2^FIXED_FRAC * col_gain, plus one for its rounding).
static double fixed_rows_reach(const FixedRows& f, double col_gain) {
    double sample = 255.0 * (1 << FIXED_FRAC) * col_gain + 1.0;
    return sample * f.gain * std::ldexp(1.0, f.bits - 15) + f.taps;
}

static bool fixed_rows(const Array& weight, const Array& count, double col_gain, bool terms,
                       int bits_most, FixedRows& f) {
    long long n_out = weight.shape(0);
    f.taps = weight.shape(1);
    f.terms = terms && f.taps <= 64;          // (fixed_combine_terms_avx2's most)
    if (!f.terms)
        return fixed_rows_at(ptr<double>(weight), ptr<long long>(count), n_out, FIXED_BITS, f);
    for (int bits = bits_most; bits >= 12; --bits) {
        if (!fixed_rows_at(ptr<double>(weight), ptr<long long>(count), n_out, bits, f))
            continue;          // a weight beyond 16 bits at this scale
        double half = std::ldexp(1.0, FIXED_FRAC + bits - 16);
        if (fixed_rows_reach(f, col_gain) + half <= 32767.0) return true;
    }
    return false;
}

// pad_to: spans are padded to a multiple of this many taps (what one vector load reads).
static bool fixed_cols(const Array& index, const Array& weight, const Array& count,
                       long long pad_to, FixedCols& f) {
    long long n_out = index.shape(0), t = index.shape(1);
    const long long* idx = ptr<long long>(index);
    const double* w = ptr<double>(weight);
    const long long* cnt = ptr<long long>(count);
    f.n_out = n_out;
    f.start.assign(n_out + 1, 0);
    long long widest = 1, most = 1;      // the widest span, the most taps of an output
    for (long long o = 0; o < n_out; ++o) {
        if (cnt[o] <= 0) return false;
        most = std::max(most, cnt[o]);
        const long long* i = idx + o * t;
        long long lo = *std::min_element(i, i + cnt[o]), hi = *std::max_element(i, i + cnt[o]);
        f.start[o] = lo;
        widest = std::max(widest, hi - lo + 1);
    }
    if (widest > 2 * most + 8) return false;    // scattered taps (wrap on a tiny image)
    f.start[n_out] = f.start[n_out > 0 ? n_out - 1 : 0];
    f.widest = widest;
    f.width = (widest + pad_to - 1) / pad_to * pad_to;
    f.w.assign((n_out + 1) * f.width, 0);
    std::vector<double> dense(f.width);
    std::vector<int> q(f.width);
    for (long long o = 0; o < n_out; ++o) {
        std::fill(dense.begin(), dense.end(), 0.0);
        long long span = 0;
        for (long long k = 0; k < cnt[o]; ++k) {
            long long at = idx[o * t + k] - f.start[o];
            dense[at] += w[o * t + k];
            span = std::max(span, at + 1);
        }
        double gain;
        double e = fixed_weights(dense.data(), (int)span, q.data(), &gain);
        f.error = std::max(f.error, e);
        f.gain = std::max(f.gain, gain);
        if (f.gain > 2.0) return false;
        for (long long k = 0; k < span; ++k) f.w[o * f.width + k] = (int16_t)q[k];
    }
    return true;
}

constexpr int FIXED_ROW_SHIFT = FIXED_BITS - FIXED_FRAC;    // input row -> 16-bit sample

// out[x C + c] = (sum_k w[x, k] in[(start[x] + k) C + c] + half) >> FIXED_ROW_SHIFT, for the
// n_out pixels (and the dummy one after them).  With f.terms, each tap's product is rounded
// instead, as _mm256_mulhrs_epi16 does: sum_k ((in << 7) w[x, k] + 2^14) >> 15.
static void fixed_row_scalar(const uint8_t* in, long long n_ch, const FixedCols& f,
                             int16_t* out) {
    const int half = f.terms ? 0 : 1 << (FIXED_ROW_SHIFT - 1);
    long long width = f.width;
    std::vector<int> acc(n_ch);
    for (long long x = 0; x < f.n_out; ++x) {
        const uint8_t* p = in + f.start[x] * n_ch;
        const int16_t* w = f.w.data() + x * width;
        std::fill(acc.begin(), acc.end(), half);
        for (long long k = 0; k < width; ++k)
            for (long long c = 0; c < n_ch; ++c) {
                int v = (int)p[k * n_ch + c];
                acc[c] += f.terms ? ((v << 7) * w[k] + (1 << 14)) >> 15 : w[k] * v;
            }
        for (long long c = 0; c < n_ch; ++c)
            out[x * n_ch + c] = (int16_t)(f.terms ? acc[c] : acc[c] >> FIXED_ROW_SHIFT);
    }
}

// Enlarging and shrinking a little: where the pixels of every run of 8 output samples
// (x C + c) start within 16 bytes of the run's first pixel's start s0, one 16-byte load per
// tap at (s0 + k) C and one byte shuffle give the 8 samples' values at tap k, and a 16-bit
// multiply per tap sums them: 16 samples per register, a few instructions a tap.  Where the
// runs' whole spans fit 16 bytes (narrow kernels enlarging: bilinear, gri), one load serves
// every tap (tap k's shuffle adds k C to tap 0's).  0: no runs, 1: a load per tap, 2: one
// load.  Every run is tested, not only those at multiples of 8, so that a block of the
// columns (resample.dask) fits where the whole does.
constexpr long long FIXED_RUN_TAPS = 64;      // the most taps a run takes (fixed_blocks_avx2)

static int fixed_blocks_fit(const FixedCols& f, long long n_ch) {
    // the 16-bit sums hold a sample (at most 255 * 2^FIXED_FRAC * gain) and the rounding
    if (255.0 * (1 << FIXED_FRAC) * f.gain + (double)f.widest > 32767.0) return 0;
    if (f.widest > FIXED_RUN_TAPS) return 0;
    long long reach = 0, last = (n_ch + 6) / n_ch;     // the last pixel a run reaches
    for (long long x0 = 0; x0 < f.n_out; ++x0)
        for (long long x = x0; x <= std::min(f.n_out - 1, x0 + last); ++x) {
            long long d = f.start[x] - f.start[x0];
            if (d < 0 || (d + 1) * n_ch > 16) return 0;
            reach = std::max(reach, d + f.widest);
        }
    return reach * n_ch <= 16 ? 2 : 1;
}

// Whether the columns' pass rounds each tap's product (FixedCols::terms): where runs fit for
// every channel count up to 4, so that the integers do not depend on the layout (RGB and RGBX
// give the same pixels).  Other channel counts whose runs do not fit round the same way in
// the scalar loop (terms 3).
static bool fixed_col_terms(const FixedCols& f) {
    for (long long n_ch = 1; n_ch <= 4; ++n_ch)
        if (fixed_blocks_fit(f, n_ch) == 0) return false;
    return true;
}

#ifdef __AVX2__
// Two output pixels at a time, one per 128-bit lane.  A 16-byte load of a pixel's span holds
// G = 16 / S taps (S = 4 slots for 3 or 4 channels, else the channel count); two byte
// shuffles turn it into pairs of 16-bit samples (tap 2j, tap 2j + 1) per 32-bit slot, and a
// multiply-add with the pairs' weights sums them into the slots.  With fewer channels than
// slots, the slots are summed at the end.
struct FixedColsAvx2 {
    int slots = 4;
    long long group = 4, groups = 0;          // taps per load, loads per pixel
    bool last_half = false;                   // the last load's upper half of taps is unused
    __m256i mask[2];
    std::vector<__m256i> w;                   // (pairs, groups, 2): the halves' weight pairs
};

static int slot_tap(int slots, int half, int lane16) {      // tap within its group
    int q = lane16 / 2, t = lane16 % 2;
    if (slots == 4) return half * 2 + t;
    if (slots == 2) return half * 4 + (q / 2) * 2 + t;
    return half * 8 + q * 2 + t;
}

static int slot_channel(int slots, int lane16) {
    int q = lane16 / 2;
    return slots == 4 ? q : (slots == 2 ? q % 2 : 0);
}

static long long fixed_group(long long n_ch) { return 16 / (n_ch == 3 ? 4 : n_ch); }

static void fixed_cols_avx2(const FixedCols& f, long long n_ch, FixedColsAvx2& v) {
    v.slots = n_ch == 3 ? 4 : (int)n_ch;
    v.group = 16 / v.slots;
    v.groups = f.width / v.group;
    v.last_half = f.widest <= f.width - v.group / 2;
    for (int h = 0; h < 2; ++h) {
        alignas(32) int8_t b[32];
        for (int i = 0; i < 8; ++i) {
            int c = slot_channel(v.slots, i), src = slot_tap(v.slots, h, i) * (int)n_ch + c;
            b[2 * i] = b[16 + 2 * i] = c < n_ch ? (int8_t)src : (int8_t)0x80;
            b[2 * i + 1] = b[16 + 2 * i + 1] = (int8_t)0x80;
        }
        v.mask[h] = _mm256_load_si256((const __m256i*)b);
    }
    long long pairs = (f.n_out + 1) / 2;
    v.w.resize(pairs * v.groups * 2);
    for (long long p = 0; p < pairs; ++p)
        for (long long g = 0; g < v.groups; ++g)
            for (int h = 0; h < 2; ++h) {
                alignas(32) uint32_t s[8];
                for (int lane = 0; lane < 2; ++lane) {
                    const int16_t* w = f.w.data() + (2 * p + lane) * f.width + g * v.group;
                    for (int q = 0; q < 4; ++q) {
                        uint16_t w0 = (uint16_t)w[slot_tap(v.slots, h, 2 * q)];
                        uint16_t w1 = (uint16_t)w[slot_tap(v.slots, h, 2 * q + 1)];
                        s[lane * 4 + q] = (uint32_t)w0 | ((uint32_t)w1 << 16);
                    }
                }
                v.w[(p * v.groups + g) * 2 + h] = _mm256_load_si256((const __m256i*)s);
            }
}

// fixed_blocks_fit's runs in pairs, one per 128-bit lane: the two loads' offsets, the
// shuffle of tap 0 (tap k's adds k C to its bytes), and each tap's 16 weights.
struct FixedBlocksAvx2 {
    long long pairs = 0, taps = 0;
    std::vector<long long> base;          // (pairs, 2): byte offsets in the row
    std::vector<__m256i> mask, w;         // (pairs); (pairs, taps)
};

static void fixed_blocks_avx2(const FixedCols& f, long long n_ch, FixedBlocksAvx2& v) {
    long long n = f.n_out * n_ch;
    v.taps = f.widest;
    v.pairs = (n + 15) / 16;
    v.base.assign(v.pairs * 2, 0);
    v.mask.resize(v.pairs);
    v.w.resize(v.pairs * v.taps);
    for (long long p = 0; p < v.pairs; ++p) {
        alignas(32) int8_t m[32];
        alignas(32) int16_t w[16 * FIXED_RUN_TAPS];
        for (int lane = 0; lane < 2; ++lane) {
            long long j0 = 16 * p + 8 * lane, x0 = std::min(j0, n - 1) / n_ch;
            v.base[2 * p + lane] = f.start[x0] * n_ch;
            for (int i = 0; i < 8; ++i) {
                long long j = j0 + i, x = j / n_ch, c = j % n_ch;
                int at = 8 * lane + i;
                bool real = j < n;
                m[2 * at] = real ? (int8_t)((f.start[x] - f.start[x0]) * n_ch + c) : 0;
                m[2 * at + 1] = (int8_t)0x80;
                for (long long k = 0; k < v.taps; ++k)
                    w[k * 16 + at] = real ? f.w[x * f.width + k] : (int16_t)0;
            }
        }
        v.mask[p] = _mm256_load_si256((const __m256i*)m);
        for (long long k = 0; k < v.taps; ++k)
            v.w[p * v.taps + k] = _mm256_load_si256((const __m256i*)(w + 16 * k));
    }
}

static inline __m256i fixed_load2(const uint8_t* a, const uint8_t* b) {
    return _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i*)a)),
                                   _mm_loadu_si128((const __m128i*)b), 1);
}

// The samples of a row, 16 at a time (out is padded to a multiple of 16); ONE_LOAD: terms 2.
template <bool ONE_LOAD>
static void fixed_row_blocks_avx2(const uint8_t* in, long long n_ch, const FixedBlocksAvx2& v,
                                  int16_t* out) {
    const long long taps = v.taps;
    const __m256i step = _mm256_set1_epi16((int16_t)n_ch);
    for (long long p = 0; p < v.pairs; ++p) {
        const uint8_t *a = in + v.base[2 * p], *b = in + v.base[2 * p + 1];
        __m256i m = v.mask[p], acc = _mm256_setzero_si256(), d = fixed_load2(a, b);
        const __m256i* w = v.w.data() + p * taps;
        for (long long k = 0; k < taps; ++k) {
            if (!ONE_LOAD && k > 0) d = fixed_load2(a + k * n_ch, b + k * n_ch);
            __m256i s = _mm256_slli_epi16(_mm256_shuffle_epi8(d, m), 7);
            acc = _mm256_add_epi16(acc, _mm256_mulhrs_epi16(s, w[k]));
            if (ONE_LOAD) m = _mm256_add_epi16(m, step);
        }
        _mm256_storeu_si256((__m256i*)(out + 16 * p), acc);
    }
}

template <int SLOTS>
static void fixed_row_avx2(const uint8_t* in, long long n_ch, const FixedCols& f,
                           const FixedColsAvx2& v, int16_t* out) {
    const __m256i half = _mm256_set1_epi32(1 << (FIXED_ROW_SHIFT - 1));
    const __m256i m0 = v.mask[0], m1 = v.mask[1];
    const long long step = v.group * n_ch, groups = v.groups, pairs = (f.n_out + 1) / 2;
    for (long long p = 0; p < pairs; ++p) {
        const uint8_t* a = in + f.start[2 * p] * n_ch;
        const uint8_t* b = in + f.start[2 * p + 1] * n_ch;
        const __m256i* w = v.w.data() + p * groups * 2;
        __m256i acc = _mm256_setzero_si256();
        for (long long g = 0; g < groups; ++g) {
            __m256i d = _mm256_inserti128_si256(
                _mm256_castsi128_si256(_mm_loadu_si128((const __m128i*)(a + g * step))),
                _mm_loadu_si128((const __m128i*)(b + g * step)), 1);
            acc = _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_shuffle_epi8(d, m0), w[2 * g]));
            if (g + 1 < groups || !v.last_half)      // (its weights are zero otherwise)
                acc = _mm256_add_epi32(
                    acc, _mm256_madd_epi16(_mm256_shuffle_epi8(d, m1), w[2 * g + 1]));
        }
        if (SLOTS <= 2)
            acc = _mm256_add_epi32(acc, _mm256_shuffle_epi32(acc, _MM_SHUFFLE(1, 0, 3, 2)));
        if (SLOTS == 1)
            acc = _mm256_add_epi32(acc, _mm256_shuffle_epi32(acc, _MM_SHUFFLE(2, 3, 0, 1)));
        acc = _mm256_srai_epi32(_mm256_add_epi32(acc, half), FIXED_ROW_SHIFT);
        __m256i s = _mm256_packs_epi32(acc, acc);
        // 4 samples per pixel stored; the next pixel's store overwrites the ones past C
        _mm_storel_epi64((__m128i*)(out + 2 * p * n_ch), _mm256_castsi256_si128(s));
        _mm_storel_epi64((__m128i*)(out + (2 * p + 1) * n_ch), _mm256_extracti128_si256(s, 1));
    }
}
#endif

// out[m] = clip((sum_k term(rows[k][m], w[k]) + half) >> shift, 0, 255), term(r, q) = (r q +
// 2^14) >> 15 (FixedRows), shift = FIXED_FRAC + bits - 15.  Sixteen samples per multiply.
#ifdef __AVX2__
// N > 0: exactly N rows (unrolled); N = 0: n rows.
// A vector of 32 results stored at out, 32-byte aligned where stream: a non-temporal store,
// for outputs larger than the caches (STREAM_BYTES), which skips reading the lines
// before writing them.
static inline void fixed_store32(uint8_t* out, __m256i v, bool stream) {
    if (stream) _mm256_stream_si256((__m256i*)out, v);
    else _mm256_storeu_si256((__m256i*)out, v);
}

template <int N>
static long long fixed_combine_terms_avx2(const int16_t* const* rows, const int16_t* w,
                                          long long n, int shift, uint8_t* __restrict__ out,
                                          long long m, long long m_len, bool stream) {
    constexpr int MOST = 64;
    if (N > 0) n = N;
    const __m256i vhalf = _mm256_set1_epi16((int16_t)(1 << (shift - 1)));
    const __m128i vshift = _mm_cvtsi32_si128(shift);
    __m256i wv[N > 0 ? N : MOST];
    const int16_t* r[N > 0 ? N : MOST];
    for (long long k = 0; k < n; ++k) {
        wv[k] = _mm256_set1_epi16(w[k]);
        r[k] = rows[k];
    }
    for (; m + 32 <= m_len; m += 32) {
        __m256i lo = vhalf, hi = vhalf;
        for (long long k = 0; k < n; ++k) {
            lo = _mm256_add_epi16(lo, _mm256_mulhrs_epi16(
                _mm256_loadu_si256((const __m256i*)(r[k] + m)), wv[k]));
            hi = _mm256_add_epi16(hi, _mm256_mulhrs_epi16(
                _mm256_loadu_si256((const __m256i*)(r[k] + m + 16)), wv[k]));
        }
        __m256i u = _mm256_packus_epi16(_mm256_sra_epi16(lo, vshift),
                                        _mm256_sra_epi16(hi, vshift));
        fixed_store32(out + m, _mm256_permute4x64_epi64(u, 0xD8), stream);
    }
    return m;
}
#endif

// Where a row's vector stores begin: 0, or with stream the first 32-byte aligned sample.
static long long fixed_store_start(const uint8_t* out, long long m_len, bool stream) {
    long long head = stream ? (long long)((32 - ((uintptr_t)out & 31)) & 31) : 0;
    return std::min(head, m_len);
}

static void fixed_combine_terms(const int16_t* const* rows, const int16_t* w, long long n,
                                int bits, uint8_t* __restrict__ out, long long m_len,
                                bool stream) {
    const int shift = FIXED_FRAC + bits - 15, half = 1 << (shift - 1);
    auto scalar = [&](long long from, long long to) {
        for (long long m = from; m < to; ++m) {
            int acc = half;
            for (long long k = 0; k < n; ++k) acc += ((int)rows[k][m] * w[k] + (1 << 14)) >> 15;
            acc >>= shift;
            out[m] = (uint8_t)(acc < 0 ? 0 : (acc > 255 ? 255 : acc));
        }
    };
    long long m = 0;
#ifdef __AVX2__
    m = fixed_store_start(out, m_len, stream);
    scalar(0, m);
    switch (n) {
        case 1: m = fixed_combine_terms_avx2<1>(rows, w, n, shift, out, m, m_len, stream); break;
        case 2: m = fixed_combine_terms_avx2<2>(rows, w, n, shift, out, m, m_len, stream); break;
        case 3: m = fixed_combine_terms_avx2<3>(rows, w, n, shift, out, m, m_len, stream); break;
        case 4: m = fixed_combine_terms_avx2<4>(rows, w, n, shift, out, m, m_len, stream); break;
        default:
            if (n <= 64)
                m = fixed_combine_terms_avx2<0>(rows, w, n, shift, out, m, m_len, stream);
    }
#else
    (void)stream;
#endif
    scalar(m, m_len);
}

// Without terms: out[m] = clip((sum_k w[k] rows[k][m] + half) >> (FIXED_BITS + FIXED_FRAC),
// 0, 255), the products summed in 32 bits, in pairs.
static void fixed_combine_pairs(const int16_t* const* rows, const int16_t* w, long long n,
                                uint8_t* __restrict__ out, long long m_len, bool stream) {
    constexpr int shift = FIXED_BITS + FIXED_FRAC;
    const int half = 1 << (shift - 1);
    auto scalar = [&](long long from, long long to) {
        for (long long m = from; m < to; ++m) {
            int acc = half;
            for (long long k = 0; k < n; ++k) acc += w[k] * (int)rows[k][m];
            acc >>= shift;
            out[m] = (uint8_t)(acc < 0 ? 0 : (acc > 255 ? 255 : acc));
        }
    };
    long long m = 0;
#ifdef __AVX2__
    m = fixed_store_start(out, m_len, stream);
    scalar(0, m);
    const __m256i zero = _mm256_setzero_si256(), vhalf = _mm256_set1_epi32(half);
    for (; m + 32 <= m_len; m += 32) {
        __m256i part[2];
        for (int h = 0; h < 2; ++h) {
            __m256i lo = vhalf, hi = vhalf;
            long long at = m + 16 * h;
            for (long long k = 0; k < n; k += 2) {
                bool two = k + 1 < n;
                __m256i a = _mm256_loadu_si256((const __m256i*)(rows[k] + at));
                __m256i b = two ? _mm256_loadu_si256((const __m256i*)(rows[k + 1] + at)) : zero;
                uint32_t pair = (uint32_t)(uint16_t)w[k] |
                                ((uint32_t)(uint16_t)(two ? w[k + 1] : 0) << 16);
                __m256i wp = _mm256_set1_epi32((int)pair);
                lo = _mm256_add_epi32(lo, _mm256_madd_epi16(_mm256_unpacklo_epi16(a, b), wp));
                hi = _mm256_add_epi32(hi, _mm256_madd_epi16(_mm256_unpackhi_epi16(a, b), wp));
            }
            part[h] = _mm256_packs_epi32(_mm256_srai_epi32(lo, shift),
                                         _mm256_srai_epi32(hi, shift));
        }
        __m256i u = _mm256_permute4x64_epi64(_mm256_packus_epi16(part[0], part[1]), 0xD8);
        fixed_store32(out + m, u, stream);
    }
#else
    (void)stream;
#endif
    scalar(m, m_len);
}

// The columns' pass of one input row (the row's bytes may be read up to `reach` bytes past
// its start: rows near the image's end are copied into a padded line first).
struct FixedPass {
    const uint8_t* src; long long n_rows, m_in, n_ch, reach;
    const FixedCols* cols;
#ifdef __AVX2__
    const FixedColsAvx2* avx;
    const FixedBlocksAvx2* blocks;
#endif
};

static void fixed_input_row(const FixedPass& a, long long r, uint8_t* line, int16_t* out) {
    const uint8_t* in = a.src + r * a.m_in;
    if ((a.n_rows - r) * a.m_in < a.reach) {
        std::copy(in, in + a.m_in, line);
        in = line;
    }
#ifdef __AVX2__
    if (a.blocks != nullptr) {
        if (a.cols->terms == 2) fixed_row_blocks_avx2<true>(in, a.n_ch, *a.blocks, out);
        else fixed_row_blocks_avx2<false>(in, a.n_ch, *a.blocks, out);
        return;
    }
    if (a.avx != nullptr) {
        if (a.avx->slots == 4) fixed_row_avx2<4>(in, a.n_ch, *a.cols, *a.avx, out);
        else if (a.avx->slots == 2) fixed_row_avx2<2>(in, a.n_ch, *a.cols, *a.avx, out);
        else fixed_row_avx2<1>(in, a.n_ch, *a.cols, *a.avx, out);
        return;
    }
#endif
    fixed_row_scalar(in, a.n_ch, *a.cols, out);
}

// How a resize is done in fixed point, as resize_fixed8 answers and takes it: 0 declined;
// otherwise FIXED_ON, with FIXED_COL_TERMS (the columns' pass rounds each tap's product),
// FIXED_ROW_TERMS (so does the rows' pass) and the rows' weight bits times FIXED_BITS_AT.

constexpr int FIXED_ON = 1, FIXED_COL_TERMS = 2, FIXED_ROW_TERMS = 4, FIXED_BITS_AT = 16;

// src (R, C_in * ch) and dst (n_out, C_out * ch) uint8; the rows' table (yi, yw float64,
// yc) and the columns' table per pixel (xi, xw float64, xc), as resample/taps.py makes them.
// mode -1: chosen here, the fastest within FIXED_MAX_ERROR; otherwise the mode that this
// function answered for the whole image, of which this is a block (resample.dask), so that
// the block computes the whole's integers.
static int resize_fixed8(const Array& src, const Array& yi, const Array& yw, const Array& yc,
                         const Array& xi, const Array& xw, const Array& xc, const Array& dst,
                         long long n_bands, int mode) {
    if (!is<uint8_t>(src) || !is<uint8_t>(dst) || !is<double>(yw) || !is<double>(xw))
        return 0;
    long long n_rows = src.shape(0), m_in = src.shape(1), n_out = dst.shape(0);
    long long m_out = dst.shape(1), px_out = xi.shape(0), ty = yi.shape(1);
    if (px_out == 0 || m_out % px_out != 0) return 0;
    long long n_ch = m_out / px_out;
    FixedRows rows;
    FixedCols cols;
    long long group = 1;
#ifdef __AVX2__
    bool vector = n_ch <= 4;
    if (vector) group = fixed_group(n_ch);
#endif
    if (!fixed_cols(xi, xw, xc, group, cols)) return 0;
    int fit = fixed_blocks_fit(cols, n_ch), col_terms = fit > 0 ? fit : 3;
    if (mode > 0) {             // the whole's choice
        int bits = mode / FIXED_BITS_AT;
        bool row_terms = (mode & FIXED_ROW_TERMS) != 0;
        cols.terms = (mode & FIXED_COL_TERMS) ? col_terms : 0;
        if (!fixed_rows(yw, yc, cols.gain, row_terms, bits, rows) || rows.terms != row_terms ||
            rows.bits != bits)
            return 0;
    } else {
        cols.terms = fixed_col_terms(cols) ? col_terms : 0;
        // the columns' weights and their sums' rounding (per tap with terms), through the
        // rows' gain; the rows' weights; with terms, each of the rows' terms rounded to half
        // a unit
        auto bound = [&]() {
            double col_round = 0.5 / (1 << FIXED_FRAC) *
                               (cols.terms ? (double)cols.widest : 1.0);
            double row_round = rows.terms ? 0.5 * (double)ty *
                                            std::ldexp(1.0, 15 - FIXED_FRAC - rows.bits)
                                          : 0.0;
            return rows.gain * (255.0 * cols.error + col_round) +
                   rows.error * 255.0 * cols.gain + row_round;
        };
        bool terms = fixed_rows(yw, yc, cols.gain, true, 15, rows);
        if ((!terms || bound() > FIXED_MAX_ERROR) &&
            !fixed_rows(yw, yc, cols.gain, false, FIXED_BITS, rows))
            return 0;
        if (bound() > FIXED_MAX_ERROR) cols.terms = 0;    // the columns' sums exact after all
        if (bound() > FIXED_MAX_ERROR) return 0;
    }
    int chosen = FIXED_ON | (cols.terms ? FIXED_COL_TERMS : 0) |
                 (rows.terms ? FIXED_ROW_TERMS : 0) | rows.bits * FIXED_BITS_AT;
    if (n_out == 0) return chosen;          // no rows out: a check only (resample.engines.cpu.plan)
    FixedPass pass{ptr<uint8_t>(src), n_rows, m_in, n_ch, (cols.width + 16) * n_ch + 32 + m_in,
                   &cols};
#ifdef __AVX2__
    FixedColsAvx2 avx;
    FixedBlocksAvx2 blocks;
    bool in_runs = cols.terms == 1 || cols.terms == 2;
    if (in_runs) fixed_blocks_avx2(cols, n_ch, blocks);
    else if (vector && !cols.terms) fixed_cols_avx2(cols, n_ch, avx);
    pass.avx = vector && !cols.terms ? &avx : nullptr;
    pass.blocks = in_runs ? &blocks : nullptr;
#endif
    const long long* y_index = ptr<long long>(yi);
    const long long* y_count = ptr<long long>(yc);
    uint8_t* out = ptr<uint8_t>(dst);
    long long bands = std::max<long long>(1, std::min(n_bands, n_out));
    long long band = (n_out + bands - 1) / bands;
    // the dummy pixel, 4 samples; runs of 16 samples
    long long n_slots = ty + 1, stride = (m_out + 2 * n_ch + 31) / 16 * 16;
    bool stream = n_out * m_out >= STREAM_BYTES;
#pragma omp parallel num_threads(threads_now())
    {
        std::vector<int16_t> cache(n_slots * stride);
        std::vector<uint8_t> line(pass.reach);
        std::vector<long long> tag(n_slots), last_use(n_slots);
        std::vector<const int16_t*> taps(ty);
#pragma omp for schedule(dynamic, 1)
        for (long long b = 0; b < bands; ++b) {
            std::fill(tag.begin(), tag.end(), -1);
            std::fill(last_use.begin(), last_use.end(), -1);
            for (long long o = b * band; o < std::min(n_out, (b + 1) * band); ++o) {
                long long n = y_count[o];
                for (long long k = 0; k < n; ++k) {
                    long long r = y_index[o * ty + k];
                    long long slot = cached_row(r, o, n_slots, tag.data(), last_use.data(),
                                                [&](long long s) {
                        fixed_input_row(pass, r, line.data(), cache.data() + s * stride);
                    });
                    taps[k] = cache.data() + slot * stride;
                }
                const int16_t* w = rows.w.data() + o * ty;
                if (rows.terms)
                    fixed_combine_terms(taps.data(), w, n, rows.bits, out + o * m_out, m_out,
                                        stream);
                else
                    fixed_combine_pairs(taps.data(), w, n, out + o * m_out, m_out, stream);
            }
        }
#ifdef __AVX2__
        if (stream) _mm_sfence();     // the streamed lines written before the threads join
#endif
    }
    return chosen;
}

}  // namespace RESAMPLE_ISA
