// resample: the kernel mathematics both engines compile, once (kernels/common/): how a
// function is declared for both devices.  kernels/resample.cu (CUDA, compiled by NVRTC at
// run time) and the CPU engine (kernels/cpu/, compiled by the package's build) include these
// headers, so rounding and storing, tap tables, Gaussian footprints and gradients,
// and nearest-point searches cannot drift apart between the devices.
// Each per-item function takes the item's index (a point, a query, a pixel line): a GPU runs
// one thread per item, the CPU engine a parallel loop over them.  Plain C++17 that also
// compiles as CUDA device code: no standard library beyond <cmath>, no exceptions, no
// allocation.
#pragma once

#if !defined(__CUDACC__) && !defined(__CUDACC_RTC__)
#include <cmath>
#ifndef __device__
#define __device__
#define __host__
#define __forceinline__ inline
#endif
using std::ceil;
using std::exp;
using std::sin;
using std::cos;
using std::sqrt;
using std::atan2;
using std::hypot;
using std::pow;
using std::fabs;
using std::floor;
using std::fmax;
using std::fmin;
using std::isfinite;
using std::nextafter;
#endif

#define RESAMPLE_HD __host__ __device__ __forceinline__
