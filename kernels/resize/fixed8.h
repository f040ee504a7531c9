// 8-bit images in fixed point, as Pillow-SIMD and OpenCV do, in namespace RESAMPLE_ISA
// (kernels/cpu/isa.h; kernels/cpu/engine_impl.h includes this header).  resample/engines/cpu.py calls resize_fixed8 first for uint8 images; it
// declines (returns false) where the integers cannot hold the sums or their rounding could move
// a result by more than FIXED_MAX_ERROR of a level from the exact sum, and the float loops run.
//
// Columns first: each input row is resampled along the row into 16-bit integers
// v * 2^FIXED_FRAC (a small cache of rows per band of outputs: cached_row, as
// resize_cols_first), then each
// output row sums its cached rows with 16-bit weights (w * 2^FIXED_BITS,
// fixed_weights below) in 32 bits, rounds half up and clips to 0..255.  The AVX2 loops compute the
// same integers as the scalar loops, so both instruction sets give identical images.

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

// A bound, in levels, on how far the integer rounding may move a result from the exact sum;
// the result then stays within 1 level of the float64 reference.
constexpr double FIXED_MAX_ERROR = 0.25;

// Per output pixel of a row: a contiguous span of input pixels [start, start + width) with
// 16-bit weights (zero outside the taps).  Row n_out is a zero-weight dummy, so that pixels
// can be taken in pairs.
struct FixedCols {
    long long n_out = 0, width = 0;
    std::vector<long long> start;      // (n_out + 1)
    std::vector<int16_t> w;            // (n_out + 1, width)
    double error = 0, gain = 0;        // the largest fixed_weights error and gain of a pixel
};

// Per output row: the table's own taps, weights in 16 bits.
struct FixedRows {
    long long taps = 0;
    std::vector<int16_t> w;            // (n_out, taps)
    double error = 0, gain = 0;
};

static bool fixed_rows(const Array& weight, const Array& count, FixedRows& f) {
    long long n_out = weight.shape(0), t = weight.shape(1);
    const double* w = ptr<double>(weight);
    const long long* cnt = ptr<long long>(count);
    f.taps = t;
    f.w.assign(n_out * t, 0);
    std::vector<int> q(t);
    for (long long o = 0; o < n_out; ++o) {
        double gain;
        double e = fixed_weights(w + o * t, (int)cnt[o], q.data(), &gain);
        f.error = std::max(f.error, e);
        f.gain = std::max(f.gain, gain);
        if (f.gain > 2.0) return false;
        for (long long k = 0; k < cnt[o]; ++k) f.w[o * t + k] = (int16_t)q[k];
    }
    return true;
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
constexpr int FIXED_OUT_SHIFT = FIXED_BITS + FIXED_FRAC;    // 16-bit samples -> output

// out[x C + c] = (sum_k w[x, k] in[(start[x] + k) C + c] + half) >> FIXED_ROW_SHIFT, for the
// n_out pixels (and the dummy one after them).
static void fixed_row_scalar(const uint8_t* in, long long n_ch, const FixedCols& f,
                             int16_t* out) {
    const int half = 1 << (FIXED_ROW_SHIFT - 1);
    long long width = f.width;
    std::vector<int> acc(n_ch);
    for (long long x = 0; x < f.n_out; ++x) {
        const uint8_t* p = in + f.start[x] * n_ch;
        const int16_t* w = f.w.data() + x * width;
        std::fill(acc.begin(), acc.end(), half);
        for (long long k = 0; k < width; ++k)
            for (long long c = 0; c < n_ch; ++c) acc[c] += w[k] * (int)p[k * n_ch + c];
        for (long long c = 0; c < n_ch; ++c)
            out[x * n_ch + c] = (int16_t)(acc[c] >> FIXED_ROW_SHIFT);
    }
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
            acc = _mm256_add_epi32(acc,
                                   _mm256_madd_epi16(_mm256_shuffle_epi8(d, m1), w[2 * g + 1]));
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

// out[m] = clip((sum_k w[k] rows[k][m] + half) >> FIXED_OUT_SHIFT, 0, 255).
static void fixed_combine(const int16_t* const* rows, const int16_t* w, long long n,
                          uint8_t* __restrict__ out, long long m_len) {
    const int half = 1 << (FIXED_OUT_SHIFT - 1);
    long long m = 0;
#ifdef __AVX2__
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
            part[h] = _mm256_packs_epi32(_mm256_srai_epi32(lo, FIXED_OUT_SHIFT),
                                         _mm256_srai_epi32(hi, FIXED_OUT_SHIFT));
        }
        __m256i u = _mm256_permute4x64_epi64(_mm256_packus_epi16(part[0], part[1]), 0xD8);
        _mm256_storeu_si256((__m256i*)(out + m), u);
    }
#endif
    for (; m < m_len; ++m) {
        int acc = half;
        for (long long k = 0; k < n; ++k) acc += w[k] * (int)rows[k][m];
        acc >>= FIXED_OUT_SHIFT;
        out[m] = (uint8_t)(acc < 0 ? 0 : (acc > 255 ? 255 : acc));
    }
}

// The columns' pass of one input row (the row's bytes may be read up to `reach` bytes past
// its start: rows near the image's end are copied into a padded line first).
struct FixedPass {
    const uint8_t* src; long long n_rows, m_in, n_ch, reach;
    const FixedCols* cols;
#ifdef __AVX2__
    const FixedColsAvx2* avx;
#endif
};

static void fixed_input_row(const FixedPass& a, long long r, uint8_t* line, int16_t* out) {
    const uint8_t* in = a.src + r * a.m_in;
    if ((a.n_rows - r) * a.m_in < a.reach) {
        std::copy(in, in + a.m_in, line);
        in = line;
    }
#ifdef __AVX2__
    if (a.avx != nullptr) {
        if (a.avx->slots == 4) fixed_row_avx2<4>(in, a.n_ch, *a.cols, *a.avx, out);
        else if (a.avx->slots == 2) fixed_row_avx2<2>(in, a.n_ch, *a.cols, *a.avx, out);
        else fixed_row_avx2<1>(in, a.n_ch, *a.cols, *a.avx, out);
        return;
    }
#endif
    fixed_row_scalar(in, a.n_ch, *a.cols, out);
}

// src (R, C_in * ch) and dst (n_out, C_out * ch) uint8; the rows' table (yi, yw float64,
// yc) and the columns' table per pixel (xi, xw float64, xc), as resample/taps.py makes them.
static bool resize_fixed8(const Array& src, const Array& yi, const Array& yw, const Array& yc,
                          const Array& xi, const Array& xw, const Array& xc, const Array& dst,
                          long long n_bands) {
    if (!is<uint8_t>(src) || !is<uint8_t>(dst) || !is<double>(yw) || !is<double>(xw))
        return false;
    long long n_rows = src.shape(0), m_in = src.shape(1), n_out = dst.shape(0);
    long long m_out = dst.shape(1), px_out = xi.shape(0), ty = yi.shape(1);
    if (px_out == 0 || m_out % px_out != 0) return false;
    long long n_ch = m_out / px_out;
    FixedRows rows;
    FixedCols cols;
    long long group = 1;
#ifdef __AVX2__
    bool vector = n_ch <= 4;
    if (vector) group = fixed_group(n_ch);
#endif
    if (!fixed_rows(yw, yc, rows) || !fixed_cols(xi, xw, xc, group, cols)) return false;
    double error = rows.gain * (255.0 * cols.error + 0.5 / (1 << FIXED_FRAC)) +
                   rows.error * 255.0 * cols.gain;
    if (error > FIXED_MAX_ERROR) return false;
    if (n_out == 0) return true;            // no rows out: a check only (resample.engines.cpu.plan)
    FixedPass pass{ptr<uint8_t>(src), n_rows, m_in, n_ch, (cols.width + 16) * n_ch + 32 + m_in,
                   &cols};
#ifdef __AVX2__
    FixedColsAvx2 avx;
    if (vector) fixed_cols_avx2(cols, n_ch, avx);
    pass.avx = vector ? &avx : nullptr;
#endif
    const long long* y_index = ptr<long long>(yi);
    const long long* y_count = ptr<long long>(yc);
    uint8_t* out = ptr<uint8_t>(dst);
    long long bands = std::max<long long>(1, std::min(n_bands, n_out));
    long long band = (n_out + bands - 1) / bands;
    long long n_slots = ty + 1, stride = m_out + 2 * n_ch + 16;   // the dummy pixel, 4 samples
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
                fixed_combine(taps.data(), rows.w.data() + o * ty, n, out + o * m_out, m_out);
            }
        }
    }
    return true;
}

}  // namespace RESAMPLE_ISA
