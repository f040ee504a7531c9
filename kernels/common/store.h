// resample's kernel mathematics (kernels/common/device.h): storing samples, and sums of taps.
#pragma once

#include "device.h"

// ---- Storing: integer outputs are rounded half up, floor(v + 0.5), and clipped to [lo, hi]
// (NaN stores lo); float outputs are stored as they are.  W is the work type (float or
// double); lo and hi are whole numbers within the 64-bit integer range.  The floor is an
// integer conversion after clipping (truncation is the floor from 0 up), not a call to floor,
// which baseline x86-64 (SSE2) has no instruction for.
template <typename W>
RESAMPLE_HD W store_value(W v, W lo, W hi, int rounding) {
    if (!rounding) return v;
    v = v + W(0.5);
    v = v >= lo ? v : lo;
    v = v <= hi ? v : hi;
    if (v >= W(0)) return (W)(unsigned long long)v;
    long long t = (long long)v;
    return (W)(t - ((W)t > v ? 1 : 0));
}

// store_value converted to the output type T: for samples of at most 16 bits the floor is a
// 32-bit conversion (one vectorisable instruction on any x86-64), with the same result.
template <typename T, typename W>
RESAMPLE_HD T store_sample(W v, W lo, W hi, int rounding) {
    if (!rounding || sizeof(T) > 2) return (T)store_value<W>(v, lo, hi, rounding);
    v = v + W(0.5);
    v = v >= lo ? v : lo;
    v = v <= hi ? v : hi;
    int t = (int)v;
    return (T)(t - ((W)t > v ? 1 : 0));
}

// ---- Sums of taps.  sum_k w_k v_k + fw fill, with the weights and fw summing to 1, is taken
// as base + sum_k w_k (v_k - base) + fw (fill - base), base the first tap's value: then a
// constant image stays exactly constant whatever the rounding of the weights.  Where that
// value is not finite, or so large that v - base could overflow, base is 0: the plain sum
// (an infinite sample stays infinite).  A tap of weight 0 adds nothing, whatever it reads.
template <typename W>
RESAMPLE_HD W sum_base_limit() {             // a quarter of the range
    return sizeof(W) == 4 ? W(8.0e37) : W(4.0e307);
}

template <typename W>
RESAMPLE_HD W sum_base(W v0) {
    const W big = sum_base_limit<W>();
    return (v0 >= -big && v0 <= big) ? v0 : W(0);
}

template <typename W>
RESAMPLE_HD W tap_term(W w, W v, W base) {
    return w != W(0) ? w * (v - base) : W(0);
}

template <typename W>
RESAMPLE_HD W fill_term(W fw, W fill, W base) {
    return fw != W(0) ? fw * (fill - base) : W(0);
}
