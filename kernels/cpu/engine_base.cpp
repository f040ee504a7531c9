// The CPU engine's loops for the target's baseline instruction set (any x86-64, aarch64).
#define RESAMPLE_ISA base
#include "engine_impl.h"
