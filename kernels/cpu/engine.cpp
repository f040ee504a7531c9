// resample's CPU engine, the module resample._core: the loops of engine_impl.h, compiled
// ahead of time (no JIT at start-up) for the baseline instruction set and, on x86-64, for
// AVX2 with FMA; the processor decides at import which runs.  On every core (OpenMP), with
// the GIL released; many Python threads may call at once.
//
// The kernel mathematics shared with the GPU (storing, Gaussian footprints and gradients,
// nearest points) is in ../common/.
#include <nanobind/nanobind.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#if defined(__linux__)
#include <time.h>
#include <unistd.h>
#endif
#if defined(_MSC_VER)
#include <immintrin.h>      // _xgetbv
#include <intrin.h>         // __cpuid, __cpuidex
#endif

#include "kernels.h"

#include <numeric>
#include <stdexcept>
#include <vector>

#include "../common/store.h"
#include "../common/srgb.h"
#include "../common/taps.h"
#include "../common/gaussians.h"
#include "../common/nearest.h"
#include "../knn/kd_tree.h"

namespace nb = nanobind;

using resample_cpu::Array;

template <typename T>
static T* ptr(const Array& a) { return static_cast<T*>(const_cast<void*>(a.data())); }

// ---- threads ---------------------------------------------------------------------------------
static std::atomic<int> default_threads{1};     // read by every caller, set from Python
static thread_local int caller_threads = 0;

int resample_cpu::threads() {
    return caller_threads > 0 ? caller_threads : default_threads.load(std::memory_order_relaxed);
}

// The threads a call may start now: the machine's online cores less the tasks runnable this
// moment besides the caller (Linux's /proc/loadavg, "running/total", read at most once every
// 2 ms), plus one (a core shared with one other task still helps, as the loops hand out
// their work dynamically); -1 where that is unknown.  A parallel region waits at its end for
// every thread it started, and a thread that other processes' work keeps off a core holds
// the call up by a time slice (tens of milliseconds), longer than most calls take alone.
static std::atomic<long long> free_cores_at{-1};   // when last read, in microseconds
static std::atomic<int> free_cores_seen{-1};

static int free_cores() {
#if defined(__linux__)
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    long long now = (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
    long long then = free_cores_at.load(std::memory_order_relaxed);
    if (then >= 0 && now - then < 2000) return free_cores_seen.load(std::memory_order_relaxed);
    free_cores_at.store(now, std::memory_order_relaxed);
    int result = -1;
    if (FILE* f = std::fopen("/proc/loadavg", "r")) {
        double a, b, c;
        long long running = 0, total = 0;
        if (std::fscanf(f, "%lf %lf %lf %lld/%lld", &a, &b, &c, &running, &total) == 5) {
            long long online = sysconf(_SC_NPROCESSORS_ONLN);
            result = (int)std::max(1LL, online - (running - 1) + 1);
        }
        std::fclose(f);
    }
    free_cores_seen.store(result, std::memory_order_relaxed);
    return result;
#else
    return -1;
#endif
}

int resample_cpu::threads_now() {
    int n = threads();
    if (n <= 1) return 1;
    int free = free_cores();
    return free < 0 ? n : std::max(1, std::min(n, free));
}

// ---- instruction sets ----------------------------------------------------------------------------
static bool has_avx2() {
#if defined(RESAMPLE_HAVE_AVX2) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#elif defined(RESAMPLE_HAVE_AVX2) && defined(_MSC_VER)
    // CPUID leaf 1: FMA (ECX 12), OSXSAVE (ECX 27), AVX (ECX 28); leaf 7: AVX2 (EBX 5); and
    // the OS saves the YMM registers (XCR0 bits 1 and 2)
    int info[4];
    __cpuid(info, 1);
    bool fma = (info[2] >> 12) & 1, osxsave = (info[2] >> 27) & 1, avx = (info[2] >> 28) & 1;
    if (!(fma && osxsave && avx) || (_xgetbv(0) & 6) != 6) return false;
    __cpuidex(info, 7, 0);
    return (info[1] >> 5) & 1;
#else
    return false;
#endif
}

static const char* isa_name = "baseline";

static resample_cpu::Kernels pick(const char* wanted) {
#ifdef RESAMPLE_HAVE_AVX2
    bool avx = has_avx2() && std::string_view(wanted) != "baseline";
    if (avx) {
        isa_name = "avx2";
        return avx2::kernels();
    }
#endif
    isa_name = "baseline";
    return base::kernels();
}

static resample_cpu::Kernels k;

// ---- tap tables (compiled once, for the baseline: the same tables whichever loops run) ------------------------------------------------------------------------------
// One row: sum the weights of taps that read the same index, sort by index, drop zero weights;
// the valid taps first, then padding (index 0, weight 0).  Stable (equal indices sum in their
// order), in O(w log w), or O(w) when already in order.  Returns the taps kept.
static long long merge_row(const long long* ri, const double* rw, long long width,
                           long long* order, long long* out_i, double* out_w) {
    std::iota(order, order + width, 0LL);
    if (!std::is_sorted(ri, ri + width))
        std::stable_sort(order, order + width, [&](long long a, long long b) { return ri[a] < ri[b]; });
    long long c = 0;
    for (long long t = 0; t < width; ++t) {
        long long k = order[t];
        if (c > 0 && out_i[c - 1] == ri[k]) {
            out_w[c - 1] += rw[k];
        } else {
            out_i[c] = ri[k];
            out_w[c] = rw[k];
            ++c;
        }
    }
    long long kept = 0;
    for (long long j = 0; j < c; ++j)
        if (out_w[j] != 0.0) {
            out_i[kept] = out_i[j];
            out_w[kept] = out_w[j];
            ++kept;
        }
    for (long long j = kept; j < width; ++j) {
        out_i[j] = 0;
        out_w[j] = 0.0;
    }
    return kept;
}

// A row's taps of weight 0 (and slope 0, where slope is given) dropped, the others kept in
// their order; the row's end padded with index 0, weight 0.  Returns the taps kept.
static long long drop_zero_taps(long long* index, double* weight, double* slope,
                                long long width) {
    long long kept = 0;
    for (long long k = 0; k < width; ++k)
        if (weight[k] != 0.0 || (slope && slope[k] != 0.0)) {
            index[kept] = index[k];
            weight[kept] = weight[k];
            if (slope) slope[kept] = slope[k];
            ++kept;
        }
    for (long long k = kept; k < width; ++k) {
        index[k] = 0;
        weight[k] = 0.0;
        if (slope) slope[k] = 0.0;
    }
    return kept;
}

// The merged table (merge_row) of sampling an axis of n at positions x (taps_one of
// common/taps.h): index and weight (len(x), taps_width), count, fill weight.  Returns the
// widest row's taps.  Without merge, each row is taps_one's as it is (every tap of the
// window, count = taps_width), as the GPU engine makes point sampling's tables.
static long long taps(const Array& x, long long n, int method, double support, double stretch,
                      int boundary, const Array& index, const Array& weight, const Array& count,
                      const Array& fill, bool merge) {
    long long n_out = x.shape(0), width = index.shape(1);
    if (width != taps_width(support, stretch, boundary))
        throw std::invalid_argument("taps: the table's width is not taps_width");
    const double* pos = ptr<double>(x);
    long long* oi = ptr<long long>(index);
    double* ow = ptr<double>(weight);
    long long* cnt = ptr<long long>(count);
    double* fw = ptr<double>(fill);
    long long widest = 0;
    int nthreads = resample_cpu::threads_for(n_out * width, 1 << 13);
#pragma omp parallel num_threads(nthreads) reduction(max : widest)
    {
        std::vector<long long> order(width), ri(width);
        std::vector<double> rw(width);
#pragma omp for schedule(dynamic, 1024)
        for (long long o = 0; o < n_out; ++o) {
            if (!merge) {
                taps_one(pos[o], n, method, support, stretch, boundary, oi + o * width,
                         ow + o * width, fw + o);
                cnt[o] = drop_zero_taps(oi + o * width, ow + o * width, nullptr, width);
                widest = std::max(widest, cnt[o]);
                continue;
            }
            taps_one(pos[o], n, method, support, stretch, boundary, ri.data(), rw.data(),
                     fw + o);
            cnt[o] = merge_row(ri.data(), rw.data(), width, order.data(), oi + o * width,
                               ow + o * width);
            widest = std::max(widest, cnt[o]);
        }
    }
    return widest;
}

// ---- tap tables of a kernel given as numbers (a Python function's, resample.spec.methods.Method):
// tap_arguments gives, for each position x[o] and tap k of its window (taps_window), the
// kernel's argument u = (i - x) / stretch, or NaN for a tap outside the footprint; the caller
// evaluates its kernel there; taps_weighted normalises those raw weights, applies the boundary
// (taps_finish) and merges each row as taps() does.
static void tap_arguments(const Array& x, long long n, double support, double stretch,
                          int boundary, const Array& u_a) {
    long long n_out = x.shape(0), width = u_a.shape(1);
    double reach = support * stretch, inverse = 1.0 / stretch;
    if (width != (long long)ceil(2.0 * reach) + 2)
        throw std::invalid_argument("tap_arguments: the table's width is not the window's");
    const double* pos = ptr<double>(x);
    double* u = ptr<double>(u_a);
    for (long long o = 0; o < n_out; ++o) {
        long long i0;
        double first, end;
        double xf = taps_window(pos[o], n, reach, boundary, &i0, &first, &end);
        for (long long k = 0; k < width; ++k) {
            double i = (double)(i0 + k);
            u[o * width + k] = (i >= first && i < end) ? (i - xf) * inverse : NAN;
        }
    }
}

static long long taps_weighted(const Array& x, long long n, double support, double stretch,
                               int boundary, const Array& raw_a, const Array& index,
                               const Array& weight, const Array& count, const Array& fill) {
    long long n_out = x.shape(0), width = index.shape(1), window = raw_a.shape(1);
    double reach = support * stretch;
    if (width != taps_width(support, stretch, boundary) ||
        window != (long long)ceil(2.0 * reach) + 2)
        throw std::invalid_argument("taps_weighted: the tables' widths do not match");
    const double* pos = ptr<double>(x);
    const double* raw = ptr<double>(raw_a);
    long long widest = 0;
    std::vector<long long> order(width), ri(width);
    std::vector<double> rw(width);
    for (long long o = 0; o < n_out; ++o) {
        long long i0;
        double first, end;
        taps_window(pos[o], n, reach, boundary, &i0, &first, &end);
        double total = 0.0;
        for (long long k = 0; k < window; ++k) {
            ri[k] = i0 + k;
            double w = raw[o * window + k];
            rw[k] = std::isfinite(w) ? w : 0.0;
            total += rw[k];
        }
        taps_finish(n, window, boundary, total, ri.data(), rw.data(), ptr<double>(fill) + o);
        ptr<long long>(count)[o] = merge_row(ri.data(), rw.data(), width, order.data(),
                                             ptr<long long>(index) + o * width,
                                             ptr<double>(weight) + o * width);
        widest = std::max(widest, ptr<long long>(count)[o]);
    }
    return widest;
}

// ---- output positions ------------------------------------------------------------------------
// out[j] = the input position of output sample j of an axis resized from n_in to len(out)
// samples, align centers, as Pillow computes the centres (less a half): accumulated in float64
// in steps of n_in / n_out for nearest (Pillow's NEAREST path), (j + 0.5) * step for the
// filters (Pillow's precompute_coeffs), so that exact ties of nearest and box fall as Pillow's.
static void centre_positions(long long n_in, const Array& out_a, bool accumulate) {
    long long n_out = (long long)out_a.shape(0);
    double* out = ptr<double>(out_a);
    if (n_out == 0) return;
    double step = (double)n_in / (double)n_out, centre = 0.5 * step;
    out[0] = centre - 0.5;
    for (long long j = 1; j < n_out; ++j) {
        centre = accumulate ? centre + step : ((double)j + 0.5) * step;
        out[j] = centre - 0.5;
    }
}

// ---- buckets ---------------------------------------------------------------------------------
// order: 0..n-1 sorted stably by keys[i] in [0, n_buckets); start (n_buckets + 1): where each
// bucket begins in order.  A counting sort, O(n + n_buckets) (the point grid's cells, the
// splat's bands).
static void bucket_order(const Array& keys, const Array& order, const Array& start) {
    long long n = (long long)keys.shape(0), n_buckets = (long long)start.shape(0) - 1;
    const long long* k = ptr<long long>(keys);
    long long* o = ptr<long long>(order);
    long long* s = ptr<long long>(start);
    for (long long i = 0; i < n; ++i)
        if (k[i] < 0 || k[i] >= n_buckets)
            throw std::invalid_argument("bucket_order: a key outside [0, n_buckets)");
    std::fill(s, s + n_buckets + 1, 0LL);
    for (long long i = 0; i < n; ++i) ++s[k[i] + 1];
    for (long long b = 0; b < n_buckets; ++b) s[b + 1] += s[b];
    std::vector<long long> next(s, s + n_buckets);
    for (long long i = 0; i < n; ++i) o[next[k[i]]++] = i;
}

// The pixels no Gaussian reached (z <= 0, z: (H, W) float32 or float64), row by row, into
// rows and cols (as long as the count gmm_normalise returned).
static void holes(const Array& z, const Array& rows, const Array& cols) {
    long long height = (long long)z.shape(0), width = (long long)z.shape(1);
    long long n = (long long)rows.shape(0), found = 0;
    long long* r = ptr<long long>(rows);
    long long* c = ptr<long long>(cols);
    auto scan = [&](auto t) {
        using V = decltype(t);
        const V* zz = ptr<V>(z);
        for (long long q = 0; q < height * width && found < n; ++q)
            if (!(zz[q] > V(0))) {
                r[found] = q / width;
                c[found++] = q % width;
            }
    };
    if (z.dtype() == nb::dtype<float>()) scan(float{});
    else scan(double{});
    if (found != n) throw std::invalid_argument("holes: fewer holes than expected");
}

// ---- straight and premultiplied alpha, 8- and 16-bit: a pixel's colour times its alpha
// before resampling, divided by it after, in float32, exactly as resample.ops.resize computes
// it with NumPy for the full job (the alpha's fraction a / top first, then the product; then
// the colour times top over the alpha, 0 where it is 0, rounded half up and clipped; top is
// 255 or 65535), so that the plain job (resample/jobs/plain.py), which has no NumPy, writes
// the same bytes.  Rows (rows, cols x ch), the last of the ch channels alpha.  In this file,
// compiled without FMA: no product is fused with a sum.
template <typename T>
static void premultiply_as(const Array& src, long long ch, const Array& dst) {
    const T* in = ptr<T>(src);
    float* out = ptr<float>(dst);
    const float top = (float)std::numeric_limits<T>::max();
    long long n = (long long)src.size() / ch;
    for (long long p = 0; p < n; ++p) {
        const T* px = in + p * ch;
        float* o = out + p * ch;
        float a = (float)px[ch - 1];
        float fraction = a / top;
        for (long long c = 0; c + 1 < ch; ++c) o[c] = (float)px[c] * fraction;
        o[ch - 1] = a;
    }
}

template <typename T>
static void unpremultiply_as(const Array& src, long long ch, const Array& dst) {
    const float* in = ptr<float>(src);
    T* out = ptr<T>(dst);
    const float top = (float)std::numeric_limits<T>::max();
    long long n = (long long)src.size() / ch;
    auto store = [top](float v) { return store_sample<T, float>(v, 0.0f, top, 1); };
    for (long long p = 0; p < n; ++p) {
        const float* px = in + p * ch;
        T* o = out + p * ch;
        float a = px[ch - 1];
        for (long long c = 0; c + 1 < ch; ++c) o[c] = store(a > 0.0f ? px[c] * top / a : 0.0f);
        o[ch - 1] = store(a);
    }
}

static void premultiply(const Array& src, long long ch, const Array& dst) {
    if (src.dtype() == nb::dtype<uint8_t>()) premultiply_as<uint8_t>(src, ch, dst);
    else if (src.dtype() == nb::dtype<uint16_t>()) premultiply_as<uint16_t>(src, ch, dst);
    else throw std::invalid_argument("premultiply: uint8 or uint16 samples");
}

static void unpremultiply(const Array& src, long long ch, const Array& dst) {
    if (dst.dtype() == nb::dtype<uint8_t>()) unpremultiply_as<uint8_t>(src, ch, dst);
    else if (dst.dtype() == nb::dtype<uint16_t>()) unpremultiply_as<uint16_t>(src, ch, dst);
    else throw std::invalid_argument("unpremultiply: uint8 or uint16 samples");
}

// ---- linear light (--linear, linear=True) for 8- and 16-bit samples, as both jobs compute
// it (resample.ops.resize for arrays, resample/jobs/plain.py for files).  Decoding: each
// sample through kernels/common/srgb.h, rounded to float32 (a table of the 256 or 65536
// values); where alpha (the last channel), it is stored as the fraction a / top and the
// colour is premultiplied by it.  Encoding: the colour divided by alpha (0 where alpha is
// 0), then round_half_up(linear_to_srgb(v) * top) as computed in float64, clipped; alpha
// round_half_up(clip(a, 0, 1) * top).  The encoding looks the level up among the float32
// values at which it steps (found once per depth by the float64 formula itself), so every
// float32 v gets exactly the formula's level.  Rows (rows, cols x ch); top is 255 or 65535.
template <typename T>
static const std::vector<float>& srgb_decoded() {
    static const std::vector<float> table = [] {
        const int top = std::numeric_limits<T>::max();
        std::vector<float> t(top + 1);
        for (int i = 0; i <= top; ++i) t[i] = (float)srgb_to_linear((double)i / top);
        return t;
    }();
    return table;
}

struct SrgbSteps {
    int top = 0, buckets = 0;
    std::vector<float> at;        // at[k]: the least float32 v whose level is k (k = 1..top)
    std::vector<int> from;        // from[b]: a level at or below that of any v in bucket b
    int level(float v) const {    // (v * buckets truncated: its bucket)
        if (!(v >= at[1])) return 0;                        // (and NaN)
        int k = from[(int)(std::min(v, 1.0f) * (float)buckets)];
        while (k < top && v >= at[k + 1]) ++k;
        return k;
    }
};

static int srgb_level(double v, int top) {
    double e = linear_to_srgb(v) * top + 0.5;
    return e >= top ? top : (int)e;
}

template <typename T>
static const SrgbSteps& srgb_steps() {
    static const SrgbSteps steps = [] {
        SrgbSteps s;
        s.top = std::numeric_limits<T>::max();
        s.buckets = 4 * s.top;
        s.at.assign(s.top + 2, 2.0f);
        for (int k = 1; k <= s.top; ++k) {
            float v = (float)srgb_to_linear((k - 0.5) / s.top);
            while (v > 0.0f && srgb_level(v, s.top) >= k) v = std::nextafter(v, -1.0f);
            while (srgb_level(v, s.top) < k) v = std::nextafter(v, 2.0f);
            s.at[k] = v;
        }
        s.from.assign(s.buckets + 1, 0);
        int k = 0;
        for (int b = 0; b <= s.buckets; ++b) {   // the level of the bucket's least float32
            float lo = (float)b / (float)s.buckets;
            while (lo > 0.0f && (int)(lo * (float)s.buckets) >= b) lo = std::nextafter(lo, -1.0f);
            while (k < s.top && lo >= s.at[k + 1]) ++k;
            s.from[b] = k;
        }
        return s;
    }();
    return steps;
}

template <typename T>
static void srgb_to_linear_as(const Array& src, long long ch, bool alpha, const Array& dst) {
    const T* in = ptr<T>(src);
    float* out = ptr<float>(dst);
    const std::vector<float>& table = srgb_decoded<T>();
    const double top = std::numeric_limits<T>::max();
    long long n = (long long)src.size() / ch, colours = alpha ? ch - 1 : ch;
#pragma omp parallel for schedule(dynamic, 1 << 12) \
    num_threads(resample_cpu::threads_for(n * ch, 1 << 16))
    for (long long p = 0; p < n; ++p) {
        const T* px = in + p * ch;
        float* o = out + p * ch;
        float a = alpha ? (float)(px[ch - 1] / top) : 1.0f;
        for (long long c = 0; c < colours; ++c) o[c] = alpha ? table[px[c]] * a : table[px[c]];
        if (alpha) o[ch - 1] = a;
    }
}

template <typename T>
static void linear_to_srgb_as(const Array& src, long long ch, bool alpha, const Array& dst) {
    const float* in = ptr<float>(src);
    T* out = ptr<T>(dst);
    const SrgbSteps& steps = srgb_steps<T>();
    const double top = std::numeric_limits<T>::max();
    long long n = (long long)src.size() / ch, colours = alpha ? ch - 1 : ch;
#pragma omp parallel for schedule(dynamic, 1 << 12) \
    num_threads(resample_cpu::threads_for(n * ch, 1 << 15))
    for (long long p = 0; p < n; ++p) {
        const float* px = in + p * ch;
        T* o = out + p * ch;
        float a = alpha ? px[ch - 1] : 1.0f;
        for (long long c = 0; c < colours; ++c)
            o[c] = (T)steps.level(alpha ? (a > 0.0f ? px[c] / a : 0.0f) : px[c]);
        if (alpha) {
            double f = a > 0.0f ? (a < 1.0f ? (double)a : 1.0) : 0.0;
            o[ch - 1] = store_sample<T, double>(f * top, 0.0, top, 1);
        }
    }
}

static void srgb_to_linear_samples(const Array& src, long long ch, bool alpha, const Array& dst) {
    if (src.dtype() == nb::dtype<uint8_t>()) srgb_to_linear_as<uint8_t>(src, ch, alpha, dst);
    else if (src.dtype() == nb::dtype<uint16_t>()) srgb_to_linear_as<uint16_t>(src, ch, alpha, dst);
    else throw std::invalid_argument("srgb_to_linear: uint8 or uint16 samples");
}

static void linear_to_srgb_samples(const Array& src, long long ch, bool alpha, const Array& dst) {
    if (dst.dtype() == nb::dtype<uint8_t>()) linear_to_srgb_as<uint8_t>(src, ch, alpha, dst);
    else if (dst.dtype() == nb::dtype<uint16_t>()) linear_to_srgb_as<uint16_t>(src, ch, alpha, dst);
    else throw std::invalid_argument("linear_to_srgb: uint8 or uint16 samples");
}

// ---- what a format that holds neither alpha nor 16 bits is given, as both jobs write it
// (resample.formats.images and resample/jobs/plain.py): 16-bit samples reduced to 8 bits,
// x * 255 / 65535 in float64, rounded half up; alpha flattened onto white, c * w + top *
// (1 - w) with w = a / top in float32 (top: 255 or 65535), rounded half up and clipped (as
// every output is stored: kernels/common/store.h) --
// NumPy's arithmetic for the same formulas, step by step (no product fused with a sum).
static void reduce_to_8bit(const Array& src, const Array& dst) {
    const uint16_t* in = ptr<uint16_t>(src);
    uint8_t* out = ptr<uint8_t>(dst);
    long long n = (long long)src.size();
    for (long long i = 0; i < n; ++i)
        out[i] = store_sample<uint8_t, double>((double)in[i] * (255.0 / 65535.0), 0.0, 255.0, 1);
}

template <typename T>
static void flatten_alpha_as(const Array& src, long long ch, const Array& dst) {
    const T* in = ptr<T>(src);
    T* out = ptr<T>(dst);
    const float top = (float)std::numeric_limits<T>::max();
    long long n = (long long)src.size() / ch;
    for (long long p = 0; p < n; ++p) {
        const T* px = in + p * ch;
        T* o = out + p * (ch - 1);
        float w = (float)px[ch - 1] / top;
        float white = top * (1.0f - w);
        for (long long c = 0; c + 1 < ch; ++c) {
            float v = (float)px[c] * w;
            o[c] = store_sample<T, float>(v + white, 0.0f, top, 1);
        }
    }
}

static void flatten_alpha(const Array& src, long long ch, const Array& dst) {
    if (src.dtype() == nb::dtype<uint8_t>()) flatten_alpha_as<uint8_t>(src, ch, dst);
    else if (src.dtype() == nb::dtype<uint16_t>()) flatten_alpha_as<uint16_t>(src, ch, dst);
    else throw std::invalid_argument("flatten_alpha: uint8 or uint16 samples");
}

// ---- --sharpen: vipsthumbnail's mild sharpening, the 3x3 mask [-1 -1 -1; -1 32 -1; -1 -1 -1]
// / 24 over each colour channel (the last channel left as it is where ``alpha``), the
// border's pixels repeated, of 8- or 16-bit rows (rows, cols x ch) in float32, rounded half
// up and clipped: NumPy's arithmetic in resample.formats.images.sharpen_mild step by step
// (the three rows summed top down, then the three columns left to right; (33 c - box) / 24).
template <typename T>
static void sharpen_mild_as(const Array& src, long long ch, bool alpha, const Array& dst) {
    const T* in = ptr<T>(src);
    T* out = ptr<T>(dst);
    long long height = (long long)src.shape(0), row = (long long)src.shape(1);
    long long width = row / ch, colour = alpha ? ch - 1 : ch;
    const float top = (float)std::numeric_limits<T>::max();
    std::vector<float> sums(row);
    for (long long i = 0; i < height; ++i) {
        const T* up = in + std::max(0LL, i - 1) * row;
        const T* here = in + i * row;
        const T* down = in + std::min(height - 1, i + 1) * row;
        for (long long q = 0; q < row; ++q)
            sums[q] = ((float)up[q] + (float)here[q]) + (float)down[q];
        T* o = out + i * row;
        for (long long j = 0; j < width; ++j) {
            long long left = std::max(0LL, j - 1) * ch, mid = j * ch;
            long long right = std::min(width - 1, j + 1) * ch;
            for (long long c = 0; c < colour; ++c) {
                float box = (sums[left + c] + sums[mid + c]) + sums[right + c];
                float sharp = (33.0f * (float)here[mid + c] - box) / 24.0f;
                o[mid + c] = store_sample<T, float>(sharp, 0.0f, top, 1);
            }
            if (alpha) o[mid + ch - 1] = here[mid + ch - 1];
        }
    }
}

static void sharpen_mild(const Array& src, long long ch, bool alpha, const Array& dst) {
    if (src.dtype() == nb::dtype<uint8_t>()) sharpen_mild_as<uint8_t>(src, ch, alpha, dst);
    else if (src.dtype() == nb::dtype<uint16_t>()) sharpen_mild_as<uint16_t>(src, ch, alpha, dst);
    else throw std::invalid_argument("sharpen_mild: uint8 or uint16 samples");
}

// ---- the columns pass's tap table for rows of ch interleaved channels: tap-major
// (taps, n_out x ch), indices into the row (index x ch + channel); the padding taps of a
// shorter output repeat its first tap with weight 0 (adding nothing to a finite sum).  The
// one builder of this table, for both jobs (resample/engines/cpu.py, resample/jobs/plain.py).
template <typename I>
static void interleave_taps_as(const Array& index, const Array& weight, const Array& count,
                               const Array& fill, long long ch, const Array& out_index,
                               const Array& out_weight, const Array& out_fill) {
    long long n_out = index.shape(0), taps = index.shape(1), m_out = n_out * ch;
    const long long* ix = ptr<long long>(index);
    const double* w = ptr<double>(weight);
    const long long* n = ptr<long long>(count);
    const double* f = ptr<double>(fill);
    I* oi = ptr<I>(out_index);
    double* ow = ptr<double>(out_weight);
    double* of = ptr<double>(out_fill);
    for (long long o = 0; o < n_out; ++o) {
        for (long long c = 0; c < ch; ++c) of[o * ch + c] = f[o];
        for (long long k = 0; k < taps; ++k) {
            bool real = k < n[o];
            long long at = real ? ix[o * taps + k] : ix[o * taps];
            double wt = real ? w[o * taps + k] : 0.0;
            for (long long c = 0; c < ch; ++c) {
                oi[k * m_out + o * ch + c] = (I)(at * ch + c);
                ow[k * m_out + o * ch + c] = wt;
            }
        }
    }
}

static void interleave_taps(const Array& index, const Array& weight, const Array& count,
                            const Array& fill, long long ch, const Array& out_index,
                            const Array& out_weight, const Array& out_fill) {
    if (out_index.dtype() == nb::dtype<int32_t>())
        interleave_taps_as<int32_t>(index, weight, count, fill, ch, out_index, out_weight,
                                    out_fill);
    else
        interleave_taps_as<long long>(index, weight, count, fill, ch, out_index, out_weight,
                                      out_fill);
}

// Kernel weights K(u) of a method, for its tests and for Python callers.
static void method_weights(int method, const Array& u, const Array& out, bool slope) {
    const double* in = ptr<double>(u);
    double* o = ptr<double>(out);
    for (size_t i = 0; i < u.size(); ++i)
        o[i] = slope ? method_slope(method, in[i]) : method_weight(method, in[i]);
}

// The unmerged taps of sampling an axis of n at positions x without antialiasing, with each
// weight's derivative with respect to x (taps_slopes_one of common/taps.h): index, weight,
// slope (len(x), taps_width(support, 1, boundary)), count (the taps that weigh or move,
// first: drop_zero_taps), fill and fill_slope (len(x),).
static void taps_slopes(const Array& x, long long n, int method, double support, int boundary,
                        const Array& index, const Array& weight, const Array& slope,
                        const Array& count, const Array& fill, const Array& fill_slope) {
    long long n_pos = x.shape(0), width = index.shape(1);
    if (width != taps_width(support, 1.0, boundary) || width > SLOPED_TAPS)
        throw std::invalid_argument("taps_slopes: the table's width is not taps_width");
    const double* pos = ptr<double>(x);
#pragma omp parallel for num_threads(resample_cpu::threads_for(n_pos * width, 1 << 13)) \
    schedule(dynamic, 1024)
    for (long long p = 0; p < n_pos; ++p) {
        long long* i = ptr<long long>(index) + p * width;
        double *w = ptr<double>(weight) + p * width, *s = ptr<double>(slope) + p * width;
        taps_slopes_one(pos[p], n, method, support, boundary, i, w, s, ptr<double>(fill) + p,
                        ptr<double>(fill_slope) + p);
        ptr<long long>(count)[p] = drop_zero_taps(i, w, s, width);
    }
}


NB_MODULE(_core, m) {
    m.doc() = "resample's CPU engine (C++, OpenMP); see kernels/cpu/engine.cpp";
    const char* env = std::getenv("RESAMPLE_ISA");      // "baseline" forces the baseline
    k = pick(env ? env : "");
    auto nogil = nb::call_guard<nb::gil_scoped_release>();
    m.def("set_default_threads", [](int n) { default_threads.store(std::max(1, n)); });
    m.def("set_threads", [](int n) { caller_threads = std::max(0, n); },
          "Threads for this calling thread's kernels (0: the process default).");
    m.def("threads", &resample_cpu::threads);
    m.def("threads_now", &resample_cpu::threads_now,
          "The threads a parallel loop of this caller's starts now: threads(), no more than the "
          "cores other tasks leave free (plus one).");
    m.def("instruction_set", []() { return isa_name; },
          "The instruction set the loops were compiled for: avx2 or baseline.");
    m.def("openmp", []() {
#ifdef _OPENMP
        return true;
#else
        return false;
#endif
    });
    using A = const resample_cpu::Array&;
    m.def("resize", [](A s, A yi, A yw, A yc, A yf, A xi, A xw, A xf, double fill, A dst,
                       double lo, double hi, int rounding, bool rows_first, long long bands,
                       long long n_ch) {
        k.resize(s, yi, yw, yc, yf, xi, xw, xf, fill, dst, lo, hi, rounding, rows_first, bands,
                 n_ch);
    }, nb::arg("src"), nb::arg("rows_index"), nb::arg("rows_weight"), nb::arg("rows_count"), nb::arg("rows_fill"), nb::arg("cols_index"), nb::arg("cols_weight"), nb::arg("cols_fill"), nb::arg("fill"), nb::arg("dst"), nb::arg("lo"), nb::arg("hi"), nb::arg("rounding"), nb::arg("rows_first"), nb::arg("bands"), nb::arg("n_ch"),
          nogil, "The float loops (kernels/resize/resize.h): rows of whole pixels of n_ch samples, the columns' table interleaved per channel (interleave_taps).");
    m.def("resize_fixed8", [](A s, A yi, A yw, A yc, A xi, A xw, A xc, A dst, long long bands,
                              int mode) {
        return k.resize_fixed8(s, yi, yw, yc, xi, xw, xc, dst, bands, mode);
    }, nb::arg("src"), nb::arg("rows_index"), nb::arg("rows_weight"), nb::arg("rows_count"), nb::arg("cols_index"), nb::arg("cols_weight"), nb::arg("cols_count"), nb::arg("dst"), nb::arg("bands"), nb::arg("mode") = -1,
          nogil, "8-bit images in fixed point: the mode it ran in (kernels/resize/fixed8.h), 0 where it declines (the float loops apply); mode -1 chooses, a mode it answered for the whole image makes a block compute the whole's integers.");
    m.def("select", [](A s, A r, A c, A d) { k.select(s, r, c, d); }, nb::arg("src"), nb::arg("rows"), nb::arg("cols"), nb::arg("dst"),
          nogil, "dst[o, j] = src[rows[o], cols[j]], whole pixels (nearest at whole steps): rows and cols int64 pixel indices; dst's pixels have dst.shape[1] / len(cols) samples.");
    m.def("gather", [](A s, A iy, A wy, A cy, A fy, A ix, A wx, A cx, A fx, double fill, A d,
                       double lo, double hi, int rounding) {
        k.gather(s, iy, wy, cy, fy, ix, wx, cx, fx, fill, d, lo, hi, rounding);
    }, nb::arg("src"), nb::arg("rows_index"), nb::arg("rows_weight"), nb::arg("rows_count"), nb::arg("rows_fill"), nb::arg("cols_index"), nb::arg("cols_weight"), nb::arg("cols_count"), nb::arg("cols_fill"), nb::arg("fill"), nb::arg("dst"), nb::arg("lo"), nb::arg("hi"), nb::arg("rounding"),
          nogil);
    m.def("gather_vjp", [](A s, A iy, A wy, A sy, A cy, A fy, A fsy, A ix, A wx, A sx, A cx,
                           A fx, A fsx, double fill, A g, A ds, A dp) {
        k.gather_vjp(s, iy, wy, sy, cy, fy, fsy, ix, wx, sx, cx, fx, fsx, fill, g, ds, dp);
    }, nb::arg("src"), nb::arg("rows_index"), nb::arg("rows_weight"), nb::arg("rows_slope"), nb::arg("rows_count"), nb::arg("rows_fill"), nb::arg("rows_fill_slope"), nb::arg("cols_index"), nb::arg("cols_weight"), nb::arg("cols_slope"), nb::arg("cols_count"), nb::arg("cols_fill"), nb::arg("cols_fill_slope"), nb::arg("fill"), nb::arg("grad"), nb::arg("d_src"), nb::arg("d_pos"),
          nogil, "Point sampling's gradient (common/sampling.h): d_src added into, d_pos set.");
    m.def("taps", [](A x, long long n, int method, double support, double stretch, int boundary,
                     A index, A weight, A count, A fill, bool merge) {
        return taps(x, n, method, support, stretch, boundary, index, weight, count, fill, merge);
    }, nb::arg("x"), nb::arg("n"), nb::arg("method"), nb::arg("support"), nb::arg("stretch"), nb::arg("boundary"), nb::arg("index"), nb::arg("weight"), nb::arg("count"), nb::arg("fill"), nb::arg("merge") = true,
          nogil, "The tap table of sampling an axis at positions x (common/taps.h), merged per index.");
    m.def("tap_arguments", [](A x, long long n, double support, double stretch, int boundary,
                              A u) { tap_arguments(x, n, support, stretch, boundary, u); },
          nb::arg("x"), nb::arg("n"), nb::arg("support"), nb::arg("stretch"), nb::arg("boundary"), nb::arg("u"),
          nogil, "u (N, ceil(2 support stretch) + 2): a custom kernel's arguments per tap, "
                 "NaN outside the footprint.");
    m.def("taps_weighted", [](A x, long long n, double support, double stretch, int boundary,
                              A raw, A index, A weight, A count, A fill) {
        return taps_weighted(x, n, support, stretch, boundary, raw, index, weight, count, fill);
    }, nb::arg("x"), nb::arg("n"), nb::arg("support"), nb::arg("stretch"), nb::arg("boundary"), nb::arg("raw"), nb::arg("index"), nb::arg("weight"), nb::arg("count"), nb::arg("fill"),
          nogil, "The merged tap table of a kernel given as its raw weights at tap_arguments.");
    m.attr("SLOPED_TAPS") = SLOPED_TAPS;    // the widest window of taps_slopes_one
    m.def("method_names", []() {
        nb::list out;
        for (const char* name : METHOD_NAMES) out.append(name);
        return out;
    }, "The methods' names in the order of their numbers (common/taps.h).");
    m.def("boundary_names", []() {
        nb::list out;
        for (const char* name : BOUNDARY_NAMES) out.append(name);
        return out;
    }, "The boundaries' names in the order of their numbers (common/taps.h).");
    m.def("centre_positions",
          [](long long n_in, A out, bool accumulate) { centre_positions(n_in, out, accumulate); },
          nb::arg("n_in"), nb::arg("out"), nb::arg("accumulate"),
          nogil,
          "Input positions of an axis's outputs, align centers (as Pillow computes them).");
    m.def("bucket_order", [](A keys, A order, A start) { bucket_order(keys, order, start); },
          nb::arg("keys"), nb::arg("order"), nb::arg("start"),
          nogil, "A stable counting sort of keys in [0, len(start) - 1).");
    m.def("holes", [](A z, A rows, A cols) { holes(z, rows, cols); }, nb::arg("z"), nb::arg("rows"), nb::arg("cols"),
          nogil);
    m.def("premultiply", [](A s, long long ch, A d) { premultiply(s, ch, d); },
          nb::arg("src"), nb::arg("channels"), nb::arg("dst"), nogil,
          "8- or 16-bit straight alpha (last of channels) to premultiplied float32.");
    m.def("sharpen_mild", [](A s, long long ch, bool alpha, A d) { sharpen_mild(s, ch, alpha, d); },
          nb::arg("src"), nb::arg("channels"), nb::arg("alpha"), nb::arg("dst"), nogil,
          "--sharpen: the 3x3 mild sharpening of 8- or 16-bit rows (rows, cols x channels).");
    m.def("reduce_to_8bit", [](A s, A d) { reduce_to_8bit(s, d); },
          nb::arg("src"), nb::arg("dst"), nogil,
          "16-bit samples to 8 bits (x * 255 / 65535, rounded half up).");
    m.def("flatten_alpha", [](A s, long long ch, A d) { flatten_alpha(s, ch, d); },
          nb::arg("src"), nb::arg("channels"), nb::arg("dst"), nogil,
          "8- or 16-bit colour and alpha (the last of channels) onto white: channels - 1 "
          "channels out.");
    m.def("srgb_to_linear", [](A s, long long ch, bool alpha, A d) { srgb_to_linear_samples(s, ch, alpha, d); },
          nb::arg("src"), nb::arg("channels"), nb::arg("alpha"), nb::arg("dst"), nogil,
          "8- or 16-bit sRGB samples (rows, cols x channels) to float32 linear light (alpha, the last channel where alpha: a / top, the colour premultiplied by it)");
    m.def("linear_to_srgb", [](A s, long long ch, bool alpha, A d) { linear_to_srgb_samples(s, ch, alpha, d); },
          nb::arg("src"), nb::arg("channels"), nb::arg("alpha"), nb::arg("dst"), nogil,
          "float32 linear light (premultiplied where alpha) to 8- or 16-bit sRGB samples, rounded half up as the float64 formula");
    m.def("unpremultiply", [](A s, long long ch, A d) { unpremultiply(s, ch, d); },
          nb::arg("src"), nb::arg("channels"), nb::arg("dst"), nogil,
          "Premultiplied float32 back to 8- or 16-bit straight alpha, rounded half up.");
    m.def("interleave_taps", [](A i, A w, A c, A f, long long ch, A oi, A ow, A of) {
        interleave_taps(i, w, c, f, ch, oi, ow, of);
    }, nb::arg("index"), nb::arg("weight"), nb::arg("count"), nb::arg("fill"),
          nb::arg("channels"), nb::arg("out_index"), nb::arg("out_weight"), nb::arg("out_fill"),
          nogil, "The columns pass's table for rows of interleaved channels.");
    m.def("method_weights", [](int method, A u, A out, bool slope) {
        method_weights(method, u, out, slope);
    }, nb::arg("method"), nb::arg("u"), nb::arg("out"), nb::arg("slope") = false,
          nogil, "out = K(u), or dK/du with slope (common/taps.h method_weight, method_slope).");
    m.def("taps_slopes", [](A x, long long n, int method, double support, int boundary, A index,
                            A weight, A slope, A count, A fill, A fill_slope) {
        taps_slopes(x, n, method, support, boundary, index, weight, slope, count, fill,
                    fill_slope);
    }, nb::arg("x"), nb::arg("n"), nb::arg("method"), nb::arg("support"), nb::arg("boundary"), nb::arg("index"), nb::arg("weight"), nb::arg("slope"), nb::arg("count"), nb::arg("fill"), nb::arg("fill_slope"),
          nogil, "Unmerged point-sampling taps with their derivatives in x (common/taps.h).");
    m.def("gmm_splat", [](A xy, A v, A sx, A sy, A theta, double cut, A st, A mem, long long rows,
                          A acc, A z) { k.gmm_splat(xy, v, sx, sy, theta, cut, st, mem, rows, acc, z); },
          nb::arg("xy"), nb::arg("values"), nb::arg("sx"), nb::arg("sy"), nb::arg("theta"), nb::arg("cutoff"), nb::arg("band_start"), nb::arg("members"), nb::arg("band_rows"), nb::arg("acc"), nb::arg("z"),
          nogil);
    m.def("gmm_normalise", [](A acc, A z, A out) { return k.gmm_normalise(acc, z, out); }, nb::arg("acc"), nb::arg("z"), nb::arg("out"),
          nogil);
    m.def("gmm_plane", [](A means, A mean, A z, A first, double ridge, double clip, A out) {
        k.gmm_plane(means, mean, z, first, ridge, clip, out);
    }, nb::arg("means"), nb::arg("mean"), nb::arg("z"), nb::arg("first"), nb::arg("ridge_share"), nb::arg("clip"), nb::arg("out"),
          nogil, "Order 1's blend (kernels/common/gaussians.h gmm_plane_at), every pixel, float64.");
    m.def("gmm_plane_vjp", [](A means, A mean, A z, A first, double ridge, double clip, A grad,
                              A d_means, A d_mean) {
        k.gmm_plane_vjp(means, mean, z, first, ridge, clip, grad, d_means, d_mean);
    }, nb::arg("means"), nb::arg("mean"), nb::arg("z"), nb::arg("first"), nb::arg("ridge_share"), nb::arg("clip"), nb::arg("grad"), nb::arg("d_means"), nb::arg("d_mean"),
          nogil, "The gradient of order 1's blend with respect to the moments' means and order 0's mean.");
    m.def("gmm_vjp", [](A xy, A v, A sx, A sy, A theta, double cut, A g, A col, A z, A dxy, A dv,
                        A dsx, A dsy, A dtheta) {
        k.gmm_vjp(xy, v, sx, sy, theta, cut, g, col, z, dxy, dv, dsx, dsy, dtheta);
    }, nb::arg("xy"), nb::arg("values"), nb::arg("sx"), nb::arg("sy"), nb::arg("theta"), nb::arg("cutoff"), nb::arg("grad"), nb::arg("colour"), nb::arg("z"), nb::arg("d_xy"), nb::arg("d_values"), nb::arg("d_sx"), nb::arg("d_sy"), nb::arg("d_theta"),
          nogil);
    m.def("steer", [](A xy, A v, A idx, A d2, A size, double alpha, double max_stretch, A out) {
        k.steer(xy, v, idx, d2, size, alpha, max_stretch, out);
    }, nb::arg("xy"), nb::arg("values"), nb::arg("neighbours"), nb::arg("d2"), nb::arg("size"), nb::arg("alpha"), nb::arg("max_stretch"), nb::arg("out"),
          nogil, "sigma=\"steered\": each point's (sx, sy, theta) from its neighbours' values.");
    m.def("knn", [](A cell_xy, A order, A start, double x0, double y0, double cell,
                    long long nx, long long ny, A q, A q_order, bool self, A d2, A idx) {
        k.knn(cell_xy, order, start, x0, y0, cell, nx, ny, q, q_order, self, d2, idx);
    }, nb::arg("cell_xy"), nb::arg("order"), nb::arg("start"), nb::arg("x0"), nb::arg("y0"), nb::arg("cell"), nb::arg("nx"), nb::arg("ny"), nb::arg("queries"), nb::arg("query_order"), nb::arg("exclude_self"), nb::arg("d2"), nb::arg("idx"),
          nogil);
    m.def("kd_knn", [](A xy, A q, bool self, A d2, A idx) {
        long long n = xy.shape(0), n_q = q.shape(0);
        int kk = (int)d2.shape(1);
        if (kk == 0 || n == 0) return;
        kd::Tree t{ptr<double>(xy), std::vector<long long>(n), {}, {}, {}};
        std::iota(t.perm.begin(), t.perm.end(), 0LL);
        long long nodes = 4;
        while (nodes < 4 * (n / kd::KD_LEAF + 1)) nodes *= 2;
        t.split.assign(2 * nodes, 0.0);
        t.axis.assign(2 * nodes, 0);
        kd::build(t, 1, 0, n);
        const double* qs = ptr<double>(q);
        double* bd = ptr<double>(d2);
        long long* bi = ptr<long long>(idx);
#pragma omp parallel for num_threads(resample_cpu::threads_for(n_q * kk, 1 << 11)) \
    schedule(dynamic, 256)
        for (long long p = 0; p < n_q; ++p) {
            int found = 0;
            kd::nearest(t, n, qs[2 * p], qs[2 * p + 1], self ? p : -1, kk, found,
                        bd + p * kk, bi + p * kk);
        }
    }, nb::arg("xy"), nb::arg("queries"), nb::arg("exclude_self"), nb::arg("d2"), nb::arg("idx"),
          nogil, "xy (N, 2), queries (Q, 2) float64: the k nearest points' squared distances and "
              "indices (Q, k), ascending, through a k-d tree; self: query p is point p, skipped.");
    m.def("contrast", [](A v, A idx, A e) { k.contrast(v, idx, e); }, nb::arg("values"), nb::arg("neighbours"), nb::arg("e"),
          nogil);
    m.def("png_filter", [](A rows, long long bpp, A out) { k.png_filter(rows, bpp, out); }, nb::arg("rows"), nb::arg("bpp"), nb::arg("out"),
          nogil);
    m.def("png_unfilter", [](A raw, long long bpp, A out) { return k.png_unfilter(raw, bpp, out); },
          nb::arg("raw"), nb::arg("bpp"), nb::arg("out"),
          nogil);
}
