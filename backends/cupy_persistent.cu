// The whole training update in one kernel launch (docs: gpu.md#one-kernel-per-update).
// REAL is float or double, set by the compiler option -DREAL=..., as in cupy_kernels.cu.
//
// One block does everything, phase after phase, a barrier between two phases: eqs. (1)-(2)
// over tau steps, (3)-(6) for every step at once, (8)-(9) back over tau steps, (7) and (10) and
// the update (11)-(12) or (16)-(18) entry by entry. Everything it reads twice lives in shared
// memory: W, V, the hidden states, the outputs, the da_t. Its layout, in REALs (cols = tau*B,
// column t*B + s is step t of stream s; the host computes the same sizes to ask for them):
//
//   WT    (m, ldm)        W^T, rows padded to an odd length: WT[j*ldm + i] = W[i, j]
//   VT    (m, ldk)        V^T, rows padded to an odd length: VT[j*ldk + k] = V[k, j]
//   H     (tau+1, B, m)   h_0 ... h_tau; H[t+1] first holds U x_t + b, eq. (1)'s input term
//   G     (tau, B, K)     o_t, then exp(o_t - max), then g_t = p_t - y_t
//   DA    (tau, B, m)     V^T g_t, then da_t
//   part  (Q, B, m)       partial sums of a matrix-vector product, Q threads per row
//   stat  (cols,)         per column: the max, then the sum of the exps
//   oy    (cols,)         per column: the target's shifted logit, then the column's loss
//
// The dependent chain is 2 tau matrix-vector products, each two phases: Q threads per row each
// sum every Q-th term into `part`, then one thread per row adds the Q partial sums. The odd row
// lengths let every product read shared memory without bank conflicts, whichever index runs
// across a warp: the forward reads WT[j*ldm + i] with i running (consecutive words), the
// backward WT[j*ldm + i] with j running (an odd stride: no two loads of a pass in one bank);
// the same for V^T in eq. (3) and in V^T g_t.

#ifndef REAL
#define REAL double
#endif

// mode: what the launch computes and writes
#define UPDATE 0    // loss, h_tau; theta and the optimizer's state updated
#define GRADIENT 1  // loss, h_tau, and the unclipped gradient of the summed loss into out (n,)
#define LOSS 2      // loss, h_tau
#define LOGITS 3    // h_tau, and o_tau into out (K, B)

// The first phase of a matrix-vector product A v for B streams, Q threads per row: thread (q, s, o)
// sums every Q-th term, k = q, q + Q, ..., of A[o, k] v[s, k] into part[(q*B + s)*m + o]. A is
// read from W^T with strides (so, sk): (1, ldm) reads W itself, (ldm, 1) reads W^T.
__device__ __forceinline__ void partial_sums(REAL* part, const REAL* A, int so, int sk, const REAL* v, int m, int B, int Q) {
    for (int w = threadIdx.x; w < Q * B * m; w += blockDim.x) {
        const int o = w % m, s = w / m % B, q = w / (B * m);
        REAL sum = 0;
        for (int k = q; k < m; k += Q) sum += A[o * so + k * sk] * v[s * m + k];
        part[w] = sum;
    }
}

// The second phase, after a barrier: row o's Q partial sums (o = s*m + i), added up by one thread.
__device__ __forceinline__ REAL row_sum(const REAL* part, int o, int Bm, int Q) {
    REAL sum = 0;
    for (int q = 0; q < Q; ++q) sum += part[q * Bm + o];
    return sum;
}

// One block of up to 1,024 threads per SM: ptxas keeps to 64 registers a thread, and spills none.
extern "C" __global__ void __launch_bounds__(1024, 1)
    rnn_step(REAL* theta, REAL* state, const long long* x, const long long* y, const REAL* h0, REAL* h_out,
             REAL* loss, REAL* out, int tau, int m, int K, int B, int Q, int mode, int adam, REAL eta, REAL clip,
             REAL eps, REAL b1, REAL omb1, REAL b2, REAL omb2, REAL c2, REAL scale) {
    extern __shared__ __align__(16) unsigned char smem[];
    const int tid = threadIdx.x, T = blockDim.x, ldm = m | 1, ldk = K | 1, cols = tau * B, Bm = B * m;
    REAL* WT = reinterpret_cast<REAL*>(smem);
    REAL* VT = WT + m * ldm;
    REAL* H = VT + m * ldk;
    REAL* G = H + (cols + B) * m;
    REAL* DA = G + cols * K;
    REAL* part = DA + cols * m;
    REAL* stat = part + Q * Bm;
    REAL* oy = stat + cols;
    const REAL* U = theta;  // stored as U^T (K, m): row k is column k of U
    const REAL* W = U + K * m;
    const REAL* V = W + m * m;
    const REAL* b = V + K * m;
    const REAL* c = b + m;
    const int n = 2 * K * m + m * m + m + K;

    // load W^T and V^T; h_0; U x_t + b for every step
    for (int k = tid; k < m * m; k += T) WT[(k % m) * ldm + k / m] = W[k];
    for (int k = tid; k < K * m; k += T) VT[(k % m) * ldk + k / m] = V[k];
    for (int k = tid; k < Bm; k += T) H[k] = h0[(k % m) * B + k / m];
    for (int k = tid; k < cols * m; k += T) H[Bm + k] = b[k % m] + U[x[k / m] * m + k % m];
    __syncthreads();

    // eqs. (1)-(2), t = 1 ... tau: h_t = tanh(W h_{t-1} + U x_t + b)
    for (int t = 0; t < tau; ++t) {
        const REAL* h = H + t * Bm;  // h_{t-1} of every stream
        REAL* a = H + (t + 1) * Bm;  // U x_t + b, then h_t
        partial_sums(part, WT, 1, ldm, h, m, B, Q);  // W h_{t-1}: i runs across a warp, consecutive words
        __syncthreads();  // every partial sum is written
        for (int o = tid; o < Bm; o += T) a[o] = tanh(a[o] + row_sum(part, o, Bm, Q));
        __syncthreads();  // h_t is complete
    }

    // eq. (3) for every step: o_t = V h_t + c; and h_tau out
    for (int e = tid; e < cols * K; e += T) {
        const int col = e / K, k = e % K;
        const REAL* h = H + (col + B) * m;
        REAL o = 0;
        for (int j = 0; j < m; ++j) o += VT[j * ldk + k] * h[j];
        G[e] = o + c[k];
    }
    for (int o = tid; o < Bm; o += T) h_out[(o % m) * B + o / m] = H[tau * Bm + o];
    __syncthreads();
    if (mode == LOGITS) {
        for (int e = tid; e < B * K; e += T) out[(e % K) * B + e / K] = G[((tau - 1) * B + e / K) * K + e % K];
        return;
    }

    // eqs. (4)-(5) for every column: the max shift, exp, the sum; the loss as log-sum-exp
    for (int col = tid; col < cols; col += T) {
        const REAL* o = G + col * K;
        REAL mx = o[0];
        for (int k = 1; k < K; ++k) mx = fmax(mx, o[k]);
        stat[col] = mx;
        oy[col] = o[y[col]] - mx;
    }
    __syncthreads();
    for (int e = tid; e < cols * K; e += T) G[e] = exp(G[e] - stat[e / K]);
    __syncthreads();  // every exp is written
    for (int col = tid; col < cols; col += T) {
        REAL sum = 0;
        for (int k = 0; k < K; ++k) sum += G[col * K + k];
        stat[col] = sum;
        oy[col] = log(sum) - oy[col];  // this column's loss
    }
    __syncthreads();
    if (tid == 0) {
        REAL L = 0;
        for (int col = 0; col < cols; ++col) L += oy[col];
        loss[0] = L;
    }
    if (mode == LOSS) return;

    // eqs. (4), (6): p_t, then g_t = p_t - y_t
    for (int e = tid; e < cols * K; e += T) G[e] = G[e] / stat[e / K] - (e % K == y[e / K] ? 1 : 0);
    __syncthreads();

    // eq. (8)'s first term for every step: V^T g_t
    for (int e = tid; e < cols * m; e += T) {
        const REAL* g = G + e / m * K;
        REAL d = 0;
        for (int k = 0; k < K; ++k) d += VT[e % m * ldk + k] * g[k];
        DA[e] = d;
    }
    __syncthreads();

    // eqs. (8)-(9), t = tau ... 1: da_t = (V^T g_t + W^T da_{t+1}) * (1 - h_t^2), da_{tau+1} = 0
    for (int t = tau - 1; t >= 0; --t) {
        REAL* da = DA + t * Bm;             // V^T g_t, then da_t
        const REAL* h = H + (t + 1) * Bm;   // h_t
        if (t < tau - 1) {  // every thread takes the same branch: the barrier is safe
            partial_sums(part, WT, ldm, 1, da + Bm, m, B, Q);  // W^T da_{t+1}: j runs across a warp, odd stride
            __syncthreads();  // every partial sum is written
        }
        for (int o = tid; o < Bm; o += T) {
            const REAL dh = da[o] + (t < tau - 1 ? row_sum(part, o, Bm, Q) : 0);
            da[o] = dh * (1 - h[o] * h[o]);
        }
        __syncthreads();  // da_t is complete
    }

    // eqs. (7), (10) entry by entry of theta = [U^T, W, V, b, c], then clip and update it
    for (int e = tid; e < n; e += T) {
        REAL g = 0;
        if (e < K * m) {  // dU^T[k, i] = sum of da_t[i] over the steps whose input is k
            for (int col = 0; col < cols; ++col)
                if (x[col] == e / m) g += DA[col * m + e % m];
        } else if (e < K * m + m * m) {  // dW[i, j] = sum_t da_t[i] h_{t-1}[j]
            const int i = (e - K * m) / m, j = (e - K * m) % m;
            for (int col = 0; col < cols; ++col) g += DA[col * m + i] * H[col * m + j];
        } else if (e < 2 * K * m + m * m) {  // dV[k, j] = sum_t g_t[k] h_t[j]
            const int k = (e - K * m - m * m) / m, j = (e - K * m - m * m) % m;
            for (int col = 0; col < cols; ++col) g += G[col * K + k] * H[(col + B) * m + j];
        } else if (e < 2 * K * m + m * m + m) {  // db = sum_t da_t
            for (int col = 0; col < cols; ++col) g += DA[col * m + e - 2 * K * m - m * m];
        } else {  // dc = sum_t g_t
            for (int col = 0; col < cols; ++col) g += G[col * K + e - 2 * K * m - m * m - m];
        }
        if (mode == GRADIENT) {
            out[e] = g;
            continue;
        }
        g *= scale;  // 1 / tau for the mean loss
        if (clip > 0) g = fmin(fmax(g, -clip), clip);  // eq. (11); clip 0: none
        if (adam) {  // eqs. (16)-(18), NumPy's order of operations; eta is eta / (1 - beta1^t), c2 sqrt(1 - beta2^t)
            state[e] = state[e] * b1 + omb1 * g;
            state[n + e] = state[n + e] * b2 + omb2 * g * g;
            theta[e] -= state[e] / (sqrt(state[n + e]) / c2 + eps) * eta;
        } else {  // eq. (12)
            state[e] += g * g;
            theta[e] -= g / sqrt(state[e] + eps) * eta;
        }
    }
}
