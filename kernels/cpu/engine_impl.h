// resample's CPU engine, one instruction set's build of it (kernels/cpu/engine.cpp dispatches
// at run time): engine_base.cpp for the target's baseline (x86-64 SSE2, aarch64 NEON),
// engine_avx2.cpp with AVX2 and FMA.  The loops live with their operation (kernels/resize,
// gather, splat, gradients, knn, png), all in the namespace RESAMPLE_ISA, so that
// no inline function or template compiled with one set of instructions can stand in for the
// other's at link time; this header gathers them into the table engine.cpp binds.
//
// Arrays are C-contiguous; images are (rows, cols * channels) here, as resample/engines/cpu.py
// hands them over.  W is the work type (float for 8/16-bit images, double otherwise).
#pragma once
#include "isa.h"
#include "../resize/resize.h"
#include "../resize/fixed8.h"
#include "../gather/gather.h"
#include "../splat/splat.h"
#include "../gradients/gradients.h"
#include "../knn/knn.h"
#include "../png/filters.h"

namespace RESAMPLE_ISA {

resample_cpu::Kernels kernels() {
    return resample_cpu::Kernels{resize, resize_fixed8, select_samples, gather, gather_vjp, gmm_splat, gmm_normalise,
                   gmm_plane, gmm_plane_vjp,
                   gmm_vjp, steer, knn, contrast, png_filter, png_unfilter};
}

}  // namespace RESAMPLE_ISA
