// CUDA's built-ins for g++, and a scheduler that runs the threads of a grid as fibers
// (docs: gpu.md#the-stand-in). Included before a kernel source by backends/standin/compile.py.
//
// Each thread is a fiber (ucontext) with its own stack; each block has its own shared memory.
// The scheduler resumes the threads one after another in a chosen order; each runs until its
// next __syncthreads() or its end. When every thread of a block has stopped, they must all wait
// at the same barrier (else: divergent barrier) or all have exited (else: a thread exited while
// others wait); then the block's next phase begins.
//
// Orders: forward runs the blocks one after another (block 0 first), each block's threads in
// order; reverse runs the last block first, its threads from the last; random:SEED runs groups
// of blocks interleaved, a new permutation of all their threads in every phase, so that what
// one block does between two barriers falls between what another block does.
#pragma once
#include <algorithm>
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
#define __launch_bounds__(...)  // compile.py reads the bound; kernels.py refuses launches above it
#define __shared__ static       // only `extern __shared__` is allowed (compile.py refuses the rest)
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
    int line;   // the barrier's source line, while WAITING
    int block;  // its block, in the group running now
};

static ucontext_t scheduler;
static Fiber* fibers;
static char* stacks;
static int capacity;  // fibers and stacks allocated
static const size_t STACK = 64 * 1024;
static const int MAX_FIBERS = 2048;  // threads of the blocks interleaved at once (random order)
static int current;
static void (*body)();
unsigned char* shared_memory;  // the running thread's block's dynamic shared memory, for `extern __shared__`

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

// splitmix64: the seeded random numbers of the random order
static unsigned long long next_random(unsigned long long& state) {
    unsigned long long z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

// 0, 1, ..., n-1 (mode 0), reversed (mode 1), or a seeded permutation (mode 2, Fisher-Yates)
static void permute(long* order, long n, int mode, unsigned long long& state) {
    for (long t = 0; t < n; ++t) order[t] = mode == 1 ? n - 1 - t : t;
    if (mode != 2) return;
    for (long t = n - 1; t > 0; --t) {
        const long k = next_random(state) % (t + 1), swap = order[t];
        order[t] = order[k];
        order[k] = swap;
    }
}

// One phase is over for every block of the group: 0 and each block's state (-1 done, 0 going on), or 1 and err.
static int check_barriers(int blocks, int n, const long* ids, int* done, char* err, size_t errlen) {
    for (int b = 0; b < blocks; ++b) {
        if (done[b]) continue;
        int waiting = -1, exited = -1;
        for (int t = b * n; t < (b + 1) * n; ++t) {
            if (fibers[t].state == EXITED) exited = t - b * n;
            if (fibers[t].state != WAITING) continue;
            if (waiting >= 0 && fibers[t].line != fibers[b * n + waiting].line) {
                snprintf(err, errlen, "divergent barriers in block %ld: thread %d waits at line %d, thread %d at line %d",
                         ids[b], waiting, fibers[b * n + waiting].line, t - b * n, fibers[t].line);
                return 1;
            }
            if (waiting < 0) waiting = t - b * n;
        }
        if (waiting < 0) {
            done[b] = 1;  // every thread of the block has finished
        } else if (exited >= 0) {
            snprintf(err, errlen, "block %ld: thread %d exited while thread %d waits at the barrier on line %d", ids[b],
                     exited, waiting, fibers[b * n + waiting].line);
            return 1;
        }
    }
    return 0;
}

// Runs every block of the grid, shared memory and its guard filled with the byte `poison`;
// returns 0, or 1 with the reason in err.
static int run(void (*kernel)(), const unsigned* grid, const unsigned* block, size_t shared, size_t guard, int mode,
               unsigned long long seed, int poison, char* err, size_t errlen) {
    body = kernel;
    gridDim = {grid[0], grid[1], grid[2]};
    blockDim = {block[0], block[1], block[2]};
    const int n = block[0] * block[1] * block[2];
    const long nblocks = (long)grid[0] * grid[1] * grid[2];
    const int group = mode == 2 ? (int)std::max(1L, std::min(nblocks, (long)(MAX_FIBERS / n))) : 1;
    if (group * n > capacity) {
        free(fibers);
        free(stacks);
        fibers = (Fiber*)malloc(group * n * sizeof(Fiber));
        stacks = (char*)malloc(group * n * STACK);
        capacity = group * n;
    }
    long* ids = (long*)malloc(nblocks * sizeof(long));  // the blocks in the order they are taken
    long* order = (long*)malloc(group * n * sizeof(long));
    int* done = (int*)malloc(group * sizeof(int));
    unsigned char* smem = (unsigned char*)malloc(group * (shared + guard));
    permute(ids, nblocks, mode, seed);
    int status = 0;
    for (long first = 0; first < nblocks && !status; first += group) {
        const int blocks = (int)std::min((long)group, nblocks - first);
        memset(smem, poison, blocks * (shared + guard));
        for (int t = 0; t < blocks * n; ++t) {
            Fiber& f = fibers[t];
            getcontext(&f.ctx);
            f.ctx.uc_stack.ss_sp = &stacks[t * STACK];
            f.ctx.uc_stack.ss_size = STACK;
            f.ctx.uc_link = nullptr;
            makecontext(&f.ctx, thread_main, 0);
            f.state = READY;
            f.block = t / n;
        }
        for (int b = 0; b < blocks; ++b) done[b] = 0;
        for (;;) {
            permute(order, (long)blocks * n, mode, seed);
            for (long k = 0; k < (long)blocks * n; ++k) {
                const int t = order[k], b = fibers[t].block, i = t % n;
                if (fibers[t].state == EXITED) continue;
                const long id = ids[first + b];
                current = t;
                blockIdx = {(unsigned)(id % grid[0]), (unsigned)(id / grid[0] % grid[1]), (unsigned)(id / grid[0] / grid[1])};
                threadIdx = {i % block[0], (i / block[0]) % block[1], i / (block[0] * block[1])};
                shared_memory = smem + b * (shared + guard);
                swapcontext(&scheduler, &fibers[t].ctx);
            }
            if ((status = check_barriers(blocks, n, ids + first, done, err, errlen))) break;
            int going = 0;
            for (int b = 0; b < blocks; ++b) going += !done[b];
            if (!going) break;
            for (int t = 0; t < blocks * n; ++t)
                if (fibers[t].state == WAITING) fibers[t].state = READY;
        }
        for (int b = 0; b < blocks && !status; ++b)
            for (size_t k = shared; k < shared + guard; ++k)
                if (smem[b * (shared + guard) + k] != (unsigned char)poison) {
                    snprintf(err, errlen, "block %ld wrote byte %zu of a %zu-byte dynamic shared memory", ids[first + b],
                             k, shared);
                    status = 1;
                    break;
                }
    }
    free(smem);
    free(done);
    free(order);
    free(ids);
    return status;
}

}  // namespace standin
