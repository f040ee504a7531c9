// What every loop of one instruction set's engine shares (the CPU headers of each operation): the
// includes, the namespace RESAMPLE_ISA (so that no inline function or template compiled with
// one set of instructions can stand in for the other's at link time), the kernel mathematics
// shared with the GPU (../common/, inside the namespace for the same reason), typed
// access to arrays, and the row cache of the column-first loops.  Compiles on its own with
// RESAMPLE_ISA defined.
#pragma once

#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <type_traits>
#include <stdexcept>
#include <vector>

#include "kernels.h"

#ifdef __AVX2__
#include <immintrin.h>
#endif

// MSVC spells GCC's and Clang's __restrict__ as __restrict.
#if defined(_MSC_VER) && !defined(__clang__) && !defined(__restrict__)
#define __restrict__ __restrict
#endif

#ifndef RESAMPLE_ISA
#error "define RESAMPLE_ISA (the namespace of this instruction set's loops)"
#endif

namespace RESAMPLE_ISA {

#include "../common/store.h"
#include "../common/taps.h"
#include "../common/gaussians.h"
#include "../common/nearest.h"
#include "../common/sampling.h"

namespace nb = nanobind;
using resample_cpu::Array;
using resample_cpu::threads;
using resample_cpu::threads_for;
using resample_cpu::threads_now;

template <typename T>
static T* ptr(const Array& a) { return static_cast<T*>(const_cast<void*>(a.data())); }

template <typename T>
static bool is(const Array& a) { return a.dtype() == nb::dtype<T>(); }

// Outputs of at least this many bytes are written past the caches, with non-temporal stores
// (the 8-bit fixed point's fixed_store32, the nearest copy's copy_bytes): their lines are not
// read from memory before they are written.
constexpr long long STREAM_BYTES = 32LL << 20;

// Calls f(T{}) with T the C++ type of an image's samples.
template <typename F>
static void with_sample_type(const Array& a, F&& f) {
    if (is<uint8_t>(a)) f(uint8_t{});
    else if (is<uint16_t>(a)) f(uint16_t{});
    else if (is<float>(a)) f(float{});
    else if (is<double>(a)) f(double{});
    else if (is<int8_t>(a)) f(int8_t{});
    else if (is<int16_t>(a)) f(int16_t{});
    else if (is<int32_t>(a)) f(int32_t{});
    else if (is<uint32_t>(a)) f(uint32_t{});
    else if (is<int64_t>(a)) f(int64_t{});
    else if (is<uint64_t>(a)) f(uint64_t{});
    else throw std::invalid_argument("unsupported sample type");
}

// Calls f(W{}) with W float or double, the type of a table's weights.
template <typename F>
static void with_work_type(const Array& a, F&& f) {
    if (is<float>(a)) f(float{});
    else if (is<double>(a)) f(double{});
    else throw std::invalid_argument("weights must be float32 or float64");
}

// The slot of a band's row cache (tag: the input row each slot holds, -1 for none; last_use:
// the output that last read it) that holds input row r for output o.  A row not in the cache
// goes into the least recently used slot, which fill(slot) resamples it into.
template <typename Fill>
static long long cached_row(long long r, long long o, long long n_slots, long long* tag,
                            long long* last_use, Fill&& fill) {
    long long slot = -1;
    for (long long s = 0; s < n_slots; ++s)
        if (tag[s] == r) slot = s;
    if (slot < 0) {
        slot = 0;
        for (long long s = 0; s < n_slots; ++s)
            if (last_use[s] < last_use[slot]) slot = s;
        fill(slot);
        tag[slot] = r;
    }
    last_use[slot] = o;
    return slot;
}

}  // namespace RESAMPLE_ISA
