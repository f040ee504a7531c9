// The CPU engine's kernels as a table of functions, one table per instruction set
// (engine_impl.h fills it; engine.cpp picks one at import and binds it for Python).
#pragma once
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>

namespace resample_cpu {

// Every array is taken read-only (NumPy views of bytes are); outputs are arrays that
// resample/*.py made for the purpose, written through a cast.
using Array = nanobind::ndarray<nanobind::ro, nanobind::device::cpu, nanobind::c_contig>;

// Threads for the calling thread's kernels: its own count if it set one, else the
// process's (RESAMPLE_THREADS, --threads, or every core).
int threads();

// threads(), no more than the cores that other tasks leave free this moment (on Linux): on a
// busy machine a thread that cannot get a core holds the whole call up at its end.
int threads_now();

// Threads for a loop of ``items`` units, a thread taking at least ``grain`` of them (some
// 10 to 30 microseconds of work), as threads_now() allows: a small loop runs on the calling thread
// alone, where waking and waiting for others would cost more than they save.
inline int threads_for(long long items, long long grain) {
    long long wanted = grain > 0 ? items / grain : items;
    if (wanted < 2) return 1;
    int n = threads_now();
    return wanted < n ? (int)wanted : n;
}

struct Kernels {
    void (*resize)(const Array&, const Array&, const Array&, const Array&, const Array&,
                   const Array&, const Array&, const Array&, double, const Array&, double,
                   double, int, bool, long long, long long);
    int (*resize_fixed8)(const Array&, const Array&, const Array&, const Array&, const Array&,
                          const Array&, const Array&, const Array&, long long, int);
    void (*select)(const Array&, const Array&, const Array&, const Array&);
    void (*gather)(const Array&, const Array&, const Array&, const Array&, const Array&,
                   const Array&, const Array&, const Array&, const Array&, double,
                   const Array&, double, double, int);
    void (*gather_vjp)(const Array&, const Array&, const Array&, const Array&, const Array&,
                       const Array&, const Array&, const Array&, const Array&, const Array&,
                       const Array&, const Array&, const Array&, double, const Array&,
                       const Array&, const Array&);
    void (*gmm_splat)(const Array&, const Array&, const Array&, const Array&, const Array&,
                      double, const Array&, const Array&, long long, const Array&, const Array&);
    long long (*gmm_normalise)(const Array&, const Array&, const Array&);
    void (*gmm_plane)(const Array&, const Array&, const Array&, const Array&, double, double,
                      const Array&);
    void (*gmm_plane_vjp)(const Array&, const Array&, const Array&, const Array&, double, double,
                          const Array&, const Array&, const Array&);
    void (*gmm_vjp)(const Array&, const Array&, const Array&, const Array&, const Array&, double,
                    const Array&, const Array&, const Array&, const Array&, const Array&,
                    const Array&, const Array&, const Array&);
    void (*steer)(const Array&, const Array&, const Array&, const Array&, const Array&, double,
                  double, const Array&);
    void (*knn)(const Array&, const Array&, const Array&, double, double, double, long long,
                long long, const Array&, const Array&, bool, const Array&, const Array&);
    void (*contrast)(const Array&, const Array&, const Array&);
    void (*png_filter)(const Array&, long long, const Array&);
    bool (*png_unfilter)(const Array&, long long, const Array&);
};

}  // namespace resample_cpu

namespace base { resample_cpu::Kernels kernels(); }
namespace avx2 { resample_cpu::Kernels kernels(); }
