// CUDA's built-ins for g++, and a scheduler that runs the threads of a block as fibers
// (docs: gpu.md). Included before a kernel source by backends/standin/compile.py.
//
// Each thread of a block is a fiber (ucontext). The scheduler resumes the threads one after
// another in a chosen order; each runs until its next __syncthreads() or its end. When every
// thread has stopped, they must all wait at the same barrier (else: divergent barrier) or all
// have exited (else: a thread exited while others wait); then the next phase begins.
#pragma once
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <math.h>  // after <cmath>: tanh(float) is the float overload, as CUDA's is
#include <ucontext.h>

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
static Fiber* fibers;
static char* stacks;
static int capacity;  // fibers and stacks allocated
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

// order: 0 forward, 1 reverse, 2 a new seeded random permutation every phase (Fisher-Yates, splitmix64)
static void permute(int* order, int n, int mode, unsigned long long& state) {
    for (int t = 0; t < n; ++t) order[t] = mode == 1 ? n - 1 - t : t;
    if (mode != 2) return;
    for (int t = n - 1; t > 0; --t) {
        unsigned long long z = (state += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        const int k = (z ^ (z >> 31)) % (t + 1), swap = order[t];
        order[t] = order[k];
        order[k] = swap;
    }
}

// Runs every block of the grid; returns 0, or 1 with the reason in err.
static int run(void (*kernel)(), const unsigned* grid, const unsigned* block, size_t shared, size_t guard, int mode,
               unsigned long long seed, char* err, size_t errlen) {
    body = kernel;
    gridDim = {grid[0], grid[1], grid[2]};
    blockDim = {block[0], block[1], block[2]};
    const int n = block[0] * block[1] * block[2];
    if (n > capacity) {
        free(fibers);
        free(stacks);
        fibers = (Fiber*)malloc(n * sizeof(Fiber));
        stacks = (char*)malloc(n * STACK);
        capacity = n;
    }
    unsigned char* smem = (unsigned char*)malloc(shared + guard);
    shared_memory = smem;
    int* order = (int*)malloc(n * sizeof(int));
    int status = 0;
    for (unsigned bz = 0; bz < grid[2]; ++bz)
        for (unsigned by = 0; by < grid[1]; ++by)
            for (unsigned bx = 0; bx < grid[0]; ++bx) {
                blockIdx = {bx, by, bz};
                memset(smem, 0xFF, shared + guard);  // NaN in every float and double; guard pattern
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
                    permute(order, n, mode, seed);
                    for (int k = 0; k < n; ++k) {
                        const int t = order[k];
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
                            status = 1;
                            goto done;
                        }
                        waiting = t;
                    }
                    if (waiting < 0) break;  // every thread has finished
                    if (exited >= 0) {
                        snprintf(err, errlen, "block %u: thread %d exited while thread %d waits at the barrier on line %d",
                                 bx, exited, waiting, fibers[waiting].line);
                        status = 1;
                        goto done;
                    }
                    for (int t = 0; t < n; ++t) fibers[t].state = READY;
                }
                for (size_t k = shared; k < shared + guard; ++k)
                    if (smem[k] != 0xFF) {
                        snprintf(err, errlen, "block %u wrote byte %zu of a %zu-byte dynamic shared memory", bx, k, shared);
                        status = 1;
                        goto done;
                    }
            }
done:
    free(smem);
    free(order);
    return status;
}

}  // namespace standin
