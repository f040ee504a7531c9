// Runs CUDA kernels on the CPU, for testing their logic where there is no GPU.
//
// Compile a .cu as C++ with this header first (g++ -x c++ -include kernels/cpu_shim.h):
// __global__ and __device__ disappear, and launch(grid, block, body) sets blockIdx and
// threadIdx for every thread of every block in turn and runs body(), which calls the kernel.
// Kernels must not rely on threads running at once (no __syncthreads, shared memory or warp
// intrinsics), which is what kernels/*.cu promise.
#pragma once
#include <cmath>

struct dim3 {
    unsigned x = 1, y = 1, z = 1;
};

inline dim3 blockIdx, threadIdx, blockDim, gridDim;

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __restrict__ __restrict

using std::ceil;
using std::exp;
using std::fabs;
using std::floor;
using std::sqrt;

// Threads run one at a time here, so an atomic add is a plain one.
template <typename T>
T atomicAdd(T* address, T value) {
    T old = *address;
    *address = old + value;
    return old;
}

template <typename Body>
void launch(dim3 grid, dim3 block, Body body) {
    gridDim = grid;
    blockDim = block;
    for (unsigned bz = 0; bz < grid.z; ++bz)
        for (unsigned by = 0; by < grid.y; ++by)
            for (unsigned bx = 0; bx < grid.x; ++bx)
                for (unsigned tz = 0; tz < block.z; ++tz)
                    for (unsigned ty = 0; ty < block.y; ++ty)
                        for (unsigned tx = 0; tx < block.x; ++tx) {
                            blockIdx = {bx, by, bz};
                            threadIdx = {tx, ty, tz};
                            body();
                        }
}
