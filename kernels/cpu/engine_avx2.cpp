// The CPU engine's loops compiled with AVX2 and FMA (x86-64 only; CMakeLists.txt sets the
// flags for this file alone).  engine.cpp calls them only where the processor has both.
#define RESAMPLE_ISA avx2
#include "engine_impl.h"
