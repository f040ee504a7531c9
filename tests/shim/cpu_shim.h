// Runs CUDA kernels on the CPU, for testing their logic where there is no GPU.
//
// Compile a .cu as C++ with this header first (g++ -x c++ -pthread -include
// tests/shim/cpu_shim.h): __global__ and __device__ disappear, and launch(grid, block, body)
// sets blockIdx and threadIdx for every thread of every block in turn and runs body(), which
// calls the kernel.  Such kernels must not rely on threads running at once.  Kernels that
// share memory within a block and wait for each other (__shared__, __syncthreads) run with
// launch_block(grid, block, body) instead: one block at a time, each of its CUDA threads a
// thread of its own, __syncthreads a barrier, __shared__ a static (one block's at a time).
#pragma once
#include <cmath>
#include <cstring>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

struct dim3 {
    unsigned x = 1, y = 1, z = 1;
};

inline thread_local dim3 blockIdx, threadIdx;
inline dim3 blockDim, gridDim;

// A barrier for the threads of one block.
struct ShimBarrier {
    std::mutex mutex;
    std::condition_variable turned;
    unsigned count, waiting = 0, generation = 0;
    explicit ShimBarrier(unsigned n) : count(n) {}
    void wait() {
        std::unique_lock<std::mutex> lock(mutex);
        unsigned gen = generation;
        if (++waiting == count) {
            waiting = 0;
            ++generation;
            turned.notify_all();
        } else {
            turned.wait(lock, [&] { return gen != generation; });
        }
    }
};
inline ShimBarrier* shim_barrier = nullptr;
inline void __syncthreads() { shim_barrier->wait(); }
#define __shared__ static
#define __align__(n) __attribute__((aligned(n)))

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
using std::fma;
using std::fmaf;
using std::min;

// CUDA's bit cast and byte permutation.
inline float __uint_as_float(unsigned u) {
    float f;
    std::memcpy(&f, &u, sizeof f);
    return f;
}
// Bytes of x (0-3) and y (4-7) picked by the selector's nibbles (the low 3 bits of each).
inline unsigned __byte_perm(unsigned x, unsigned y, unsigned s) {
    unsigned long long both = ((unsigned long long)y << 32) | x;
    unsigned r = 0;
    for (int i = 0; i < 4; ++i)
        r |= (unsigned)((both >> (8 * ((s >> (4 * i)) & 7))) & 0xff) << (8 * i);
    return r;
}

// An atomic add: under a lock, for launch_block's threads that run at once; sm_90's vector
// adds of float2 and float4 (RESAMPLE_SHIM lets the kernels take them here too).
#define RESAMPLE_SHIM 1
struct float2 {
    float x, y;
};
struct float4 {
    float x, y, z, w;
};
inline float2 make_float2(float x, float y) { return {x, y}; }
inline float4 make_float4(float x, float y, float z, float w) { return {x, y, z, w}; }
inline std::mutex shim_atomics;
template <typename T>
T atomicAdd(T* address, T value) {
    std::lock_guard<std::mutex> hold(shim_atomics);
    T old = *address;
    *address = old + value;
    return old;
}
inline float2 atomicAdd(float2* address, float2 value) {
    std::lock_guard<std::mutex> hold(shim_atomics);
    float2 old = *address;
    *address = {old.x + value.x, old.y + value.y};
    return old;
}
inline float4 atomicAdd(float4* address, float4 value) {
    std::lock_guard<std::mutex> hold(shim_atomics);
    float4 old = *address;
    *address = {old.x + value.x, old.y + value.y, old.z + value.z, old.w + value.w};
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

// A kernel with __syncthreads and __shared__: the blocks one after another, the threads of a
// block at once (see the top).
template <typename Body>
void launch_block(dim3 grid, dim3 block, Body body) {
    gridDim = grid;
    blockDim = block;
    for (unsigned bx = 0; bx < grid.x; ++bx) {
        ShimBarrier barrier(block.x);
        shim_barrier = &barrier;
        std::vector<std::thread> threads;
        for (unsigned tx = 0; tx < block.x; ++tx)
            threads.emplace_back([&, bx, tx] {
                blockIdx = {bx, 0, 0};
                threadIdx = {tx, 0, 0};
                body();
            });
        for (auto& t : threads) t.join();
        shim_barrier = nullptr;
    }
}
