// resample's GPU engine: one CUDA module (NVRTC compiles it at run time, with -I for this
// folder), made of the operations' kernels below: resize, point sampling, Gaussian splats and
// their gradients, and nearest points.
//
// The same tap tables drive these kernels and the CPU engine (resample/taps.py), so every
// method, alignment, antialiasing stretch and boundary mode is already in the tables:
//
//     out[o] = sum_{k < count[o]} weight[o * width + k] * in[index[o * width + k]]
//              + fill_weight[o] * fill          (the fill term only where fill_weight != 0)
//
// Tables made on the host are compacted (no zero weights); those made on the device for point
// sampling are not, so a tap of weight 0 is skipped: it never reads a NaN into the sum.
// Images are C-contiguous (rows, cols, channels).  W is the work type: float for 8/16-bit and
// float32 images, double for float64.  Integer outputs are rounded half up, floor(v + 0.5),
// and clipped to [lo, hi], as the CPU engine's _store.
//
// Plain CUDA C++, so that tests/shim/cpu_shim.h can run the same source on the CPU
// (tests/engines/test_kernels.py): no warp intrinsics; shared memory and __syncthreads only in
// tiled_pass, which the shim runs a block at a time with a thread per CUDA thread.  The
// entry points are extern "C" for cupy.RawModule.

#include "common/store.h"      // storing, sums of taps
#include "common/taps.h"       // methods, boundaries, tap tables
#include "common/gaussians.h"  // footprints, gradients, steering
#include "common/nearest.h"    // the k nearest points
#include "common/sampling.h"   // point sampling's gradient
#include "common/cuda.cuh"     // launch bounds, applying taps, storing (CUDA only)

// The operations, each in its folder with its CPU loops (kernels/<operation>/):
#include "gather/gather.cu"
#include "resize/resize.cu"
#include "splat/splat.cu"
#include "gradients/gradients.cu"
#include "knn/knn.cu"
