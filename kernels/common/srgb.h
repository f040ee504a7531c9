// resample's kernel mathematics (kernels/common/device.h): sRGB's transfer function
// (IEC 61966-2-1), in float64.  srgb_to_linear takes an encoded value in [0, 1] to linear
// light; linear_to_srgb takes linear light, clipped to [0, 1] first (NaN to 0), back.
// Linear light (--linear, linear=True) is decoded and encoded by these two for 8- and 16-bit
// samples (the CPU engine's srgb_to_linear and linear_to_srgb, kernels/cpu/engine.cpp).
#pragma once

#include "device.h"

RESAMPLE_HD double srgb_to_linear(double c) {
    return c <= 0.04045 ? c / 12.92 : pow((c + 0.055) / 1.055, 2.4);
}

RESAMPLE_HD double linear_to_srgb(double v) {
    v = v > 0.0 ? (v < 1.0 ? v : 1.0) : 0.0;
    return v <= 0.0031308 ? v * 12.92 : 1.055 * pow(v, 1.0 / 2.4) - 0.055;
}
