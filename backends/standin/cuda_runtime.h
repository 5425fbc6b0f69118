// CUDA's built-ins for g++, and a scheduler that runs the threads of a block as fibers
// (docs: gpu.md). Included before a kernel source by backends/standin/compile.py.
//
// Each thread of a block is a fiber (ucontext). The scheduler resumes the threads one after
// another in a chosen order; each runs until its next __syncthreads() or its end. When every
// thread has stopped, they must all wait at the same barrier (else: divergent barrier) or all
// have exited (else: a thread exited while others wait); then the next phase begins.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <math.h>  // after <cmath>: tanh(float) is the float overload, as CUDA's is
#include <numeric>
#include <random>
#include <ucontext.h>
#include <vector>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __restrict__ __restrict
#define __align__(n) __attribute__((aligned(n)))
#define __shared__ static  // static __shared__ arrays: one copy, shared by the fibers of a block
#define __syncthreads() standin::barrier(__LINE__)

struct dim3 {
    unsigned x = 1, y = 1, z = 1;
};
static dim3 threadIdx, blockIdx, blockDim, gridDim;

namespace standin {

enum State { READY, WAITING, EXITED };

struct Fiber {
    ucontext_t ctx;
    State state;
    int line;  // the barrier's source line, while WAITING
};

static ucontext_t scheduler;
static std::vector<Fiber> fibers;
static std::vector<char> stacks;
static const size_t STACK = 64 * 1024;
static int current;
static void (*body)();
unsigned char* shared_memory;  // the launch's dynamic shared memory, for `extern __shared__`

static void barrier(int line) {
    Fiber& f = fibers[current];
    f.state = WAITING;
    f.line = line;
    swapcontext(&f.ctx, &scheduler);
}

static void thread_main() {
    body();
    fibers[current].state = EXITED;
    swapcontext(&fibers[current].ctx, &scheduler);
}

// order: 0 forward, 1 reverse, 2 a new seeded random permutation every phase
static void permute(std::vector<int>& order, int mode, std::mt19937_64& rng) {
    std::iota(order.begin(), order.end(), 0);
    if (mode == 1) std::reverse(order.begin(), order.end());
    if (mode == 2) std::shuffle(order.begin(), order.end(), rng);
}

// Runs every block of the grid; returns 0, or 1 with the reason in err.
static int run(void (*kernel)(), const unsigned* grid, const unsigned* block, size_t shared, size_t guard, int mode,
               unsigned long long seed, char* err, size_t errlen) {
    body = kernel;
    gridDim = {grid[0], grid[1], grid[2]};
    blockDim = {block[0], block[1], block[2]};
    const int n = block[0] * block[1] * block[2];
    fibers.resize(n);
    stacks.resize(n * STACK);
    std::vector<unsigned char> smem(shared + guard);
    shared_memory = smem.data();
    std::vector<int> order(n);
    std::mt19937_64 rng(seed);
    for (unsigned bz = 0; bz < grid[2]; ++bz)
        for (unsigned by = 0; by < grid[1]; ++by)
            for (unsigned bx = 0; bx < grid[0]; ++bx) {
                blockIdx = {bx, by, bz};
                std::memset(smem.data(), 0xFF, smem.size());  // NaN in every float and double; guard pattern
                for (int t = 0; t < n; ++t) {
                    Fiber& f = fibers[t];
                    getcontext(&f.ctx);
                    f.ctx.uc_stack.ss_sp = &stacks[t * STACK];
                    f.ctx.uc_stack.ss_size = STACK;
                    f.ctx.uc_link = nullptr;
                    makecontext(&f.ctx, thread_main, 0);
                    f.state = READY;
                }
                for (;;) {
                    permute(order, mode, rng);
                    for (int t : order) {
                        if (fibers[t].state == EXITED) continue;
                        current = t;
                        threadIdx = {t % block[0], (t / block[0]) % block[1], t / (block[0] * block[1])};
                        swapcontext(&scheduler, &fibers[t].ctx);
                    }
                    int waiting = -1, exited = -1;
                    for (int t = 0; t < n; ++t) {
                        if (fibers[t].state == EXITED) exited = t;
                        if (fibers[t].state != WAITING) continue;
                        if (waiting >= 0 && fibers[t].line != fibers[waiting].line) {
                            snprintf(err, errlen, "divergent barriers in block %u: thread %d waits at line %d, thread %d at line %d",
                                     bx, waiting, fibers[waiting].line, t, fibers[t].line);
                            return 1;
                        }
                        waiting = t;
                    }
                    if (waiting < 0) break;  // every thread has finished
                    if (exited >= 0) {
                        snprintf(err, errlen, "block %u: thread %d exited while thread %d waits at the barrier on line %d",
                                 bx, exited, waiting, fibers[waiting].line);
                        return 1;
                    }
                    for (Fiber& f : fibers) f.state = READY;
                }
                for (size_t k = shared; k < shared + guard; ++k)
                    if (smem[k] != 0xFF) {
                        snprintf(err, errlen, "block %u wrote byte %zu of a %zu-byte dynamic shared memory", bx, k, shared);
                        return 1;
                    }
            }
    return 0;
}

}  // namespace standin
