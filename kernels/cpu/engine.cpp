// resample's CPU engine, the module resample._core: the loops of engine_impl.h, compiled
// ahead of time (no JIT at start-up) for the baseline instruction set and, on x86-64, for
// AVX2 with FMA; the processor decides at import which runs.  On every core (OpenMP), with
// the GIL released; many Python threads may call at once.
//
// The kernel mathematics shared with the GPU (storing, Gaussian footprints and gradients,
// nearest points, the distance transform) is in ../resample_math.h.
#include <nanobind/nanobind.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <string_view>

#include "kernels.h"

namespace nb = nanobind;

// ---- threads ---------------------------------------------------------------------------------
static std::atomic<int> default_threads{1};     // read by every caller, set from Python
static thread_local int caller_threads = 0;

int resample_cpu::threads() {
    return caller_threads > 0 ? caller_threads : default_threads.load(std::memory_order_relaxed);
}

// ---- instruction sets ----------------------------------------------------------------------------
static bool has_avx2() {
#if defined(RESAMPLE_HAVE_AVX2) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
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

NB_MODULE(_core, m) {
    m.doc() = "resample's CPU engine (C++, OpenMP); see kernels/cpu/engine.cpp";
    const char* env = std::getenv("RESAMPLE_ISA");      // "baseline" forces the baseline
    k = pick(env ? env : "");
    auto nogil = nb::call_guard<nb::gil_scoped_release>();
    m.def("set_default_threads", [](int n) { default_threads.store(std::max(1, n)); });
    m.def("set_threads", [](int n) { caller_threads = std::max(0, n); },
          "Threads for this calling thread's kernels (0: the process default).");
    m.def("threads", &resample_cpu::threads);
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
                       double lo, double hi, int rounding, bool rows_first, long long bands) {
        k.resize(s, yi, yw, yc, yf, xi, xw, xf, fill, dst, lo, hi, rounding, rows_first, bands);
    }, nogil);
    m.def("resize_fixed8", [](A s, A yi, A yw, A yc, A xi, A xw, A xc, A dst, long long bands) {
        return k.resize_fixed8(s, yi, yw, yc, xi, xw, xc, dst, bands);
    }, nogil, "8-bit images in fixed point; false where it declines (the float loops apply).");
    m.def("select", [](A s, A r, A c, A d) { k.select(s, r, c, d); }, nogil);
    m.def("gather", [](A s, A iy, A wy, A cy, A fy, A ix, A wx, A cx, A fx, double fill, A d,
                       double lo, double hi, int rounding) {
        k.gather(s, iy, wy, cy, fy, ix, wx, cx, fx, fill, d, lo, hi, rounding);
    }, nogil);
    m.def("merge_rows", [](A i, A w, A oi, A ow, A c) { return k.merge_rows(i, w, oi, ow, c); },
          nogil);
    m.def("gmm_splat", [](A xy, A v, A sx, A sy, double cut, A st, A mem, long long rows, A acc,
                          A z) { k.gmm_splat(xy, v, sx, sy, cut, st, mem, rows, acc, z); }, nogil);
    m.def("gmm_normalise", [](A acc, A z, A out) { return k.gmm_normalise(acc, z, out); }, nogil);
    m.def("gmm_vjp", [](A xy, A v, A sx, A sy, double cut, A g, A col, A z, A dxy, A dv, A dsx,
                        A dsy) { k.gmm_vjp(xy, v, sx, sy, cut, g, col, z, dxy, dv, dsx, dsy); },
          nogil);
    m.def("knn", [](A cell_xy, A order, A start, double x0, double y0, double cell,
                    long long nx, long long ny, A q, A q_order, bool self, A d2, A idx) {
        k.knn(cell_xy, order, start, x0, y0, cell, nx, ny, q, q_order, self, d2, idx);
    }, nogil);
    m.def("contrast", [](A v, A idx, A e) { k.contrast(v, idx, e); }, nogil);
    m.def("nearest_map", [](A xy, A seeds, A out) { k.nearest_map(xy, seeds, out); }, nogil);
    m.def("png_filter", [](A rows, long long bpp, A out) { k.png_filter(rows, bpp, out); }, nogil);
    m.def("png_unfilter", [](A raw, long long bpp, A out) { return k.png_unfilter(raw, bpp, out); },
          nogil);
}
