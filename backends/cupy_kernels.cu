// Fused kernels of the CuPy backend (docs: backends.md#cupy). REAL is float or double, set by
// the compiler option -DREAL=... so the same source serves both dtypes.
//
// One block runs one stream (blockIdx.x = stream s), one thread one hidden unit
// (threadIdx.x = i < m), so a whole chunk of the recurrence is one launch. W sits in shared
// memory when it fits (w_in_shared), else it is read from global memory (through L2).
//
// Layouts (C order): H (tau+1, m, B), DA (tau, m, B), VG (tau*B, m), UT = U^T (K, m),
// x (tau, B) int64, OT and GT (tau*B, K): row t*B + s is step t of stream s.

#ifndef REAL
#define REAL double
#endif

// eqs. (1)-(2) for t = 1 ... tau: a_t = W h_{t-1} + U x_t + b, h_t = tanh(a_t).
// WT is W^T (contiguous), so that thread i reads WT[j*m + i]: neighbouring threads, neighbouring words.
extern "C" __global__ void rnn_forward(const REAL* UT, const REAL* WT, const REAL* b, const long long* x,
                                       const REAL* h0, REAL* H, int tau, int m, int B, int w_in_shared) {
    extern __shared__ __align__(16) unsigned char smem[];
    REAL* h = reinterpret_cast<REAL*>(smem);  // (m,) h_{t-1} of this stream
    REAL* sWT = h + m;                        // (m*m,) W^T, when it fits
    const int i = threadIdx.x, s = blockIdx.x;
    const REAL* w = w_in_shared ? sWT : WT;
    if (w_in_shared)
        for (int k = i; k < m * m; k += blockDim.x) sWT[k] = WT[k];
    if (i < m) {
        h[i] = h0[i * B + s];
        H[i * B + s] = h[i];
    }
    __syncthreads();
    for (int t = 0; t < tau; ++t) {
        REAL a = 0;
        if (i < m) {
            a = b[i] + UT[x[t * B + s] * m + i];  // U x_t + b: column x_t of U is row x_t of U^T
            for (int j = 0; j < m; ++j) a += w[j * m + i] * h[j];
        }
        __syncthreads();  // every thread has read h_{t-1}
        if (i < m) {
            const REAL ht = tanh(a);
            h[i] = ht;
            H[((t + 1) * m + i) * B + s] = ht;
        }
        __syncthreads();  // h_t is complete
    }
}

// eqs. (8)-(9) for t = tau ... 1: da_t = (V^T g_t + W^T da_{t+1}) * (1 - h_t^2), da_{tau+1} = 0.
// Thread i needs column i of W: W[j*m + i] over j, again neighbouring words across threads.
extern "C" __global__ void rnn_backward(const REAL* W, const REAL* VG, const REAL* H, REAL* DA, int tau, int m,
                                        int B, int w_in_shared) {
    extern __shared__ __align__(16) unsigned char smem[];
    REAL* da = reinterpret_cast<REAL*>(smem);  // (m,) da_{t+1} of this stream
    REAL* sW = da + m;                         // (m*m,) W, when it fits
    const int i = threadIdx.x, s = blockIdx.x;
    const REAL* w = w_in_shared ? sW : W;
    if (w_in_shared)
        for (int k = i; k < m * m; k += blockDim.x) sW[k] = W[k];
    if (i < m) da[i] = 0;
    __syncthreads();
    for (int t = tau - 1; t >= 0; --t) {
        REAL d = 0;
        if (i < m) {
            REAL dh = VG[(t * B + s) * m + i];
            for (int j = 0; j < m; ++j) dh += w[j * m + i] * da[j];
            const REAL ht = H[((t + 1) * m + i) * B + s];
            d = dh * (1 - ht * ht);  // the tanh backward, fused
        }
        __syncthreads();  // every thread has read da_{t+1}
        if (i < m) {
            da[i] = d;
            DA[(t * m + i) * B + s] = d;
        }
        __syncthreads();
    }
}

// eqs. (4)-(6) for one row of OT (block r): add c, softmax with the max shift, the row's loss,
// and g = p - onehot(y) written over the logits. blockDim.x is a power of two.
extern "C" __global__ void softmax_xent(REAL* OT, const REAL* c, const long long* y, REAL* loss, int K) {
    extern __shared__ __align__(16) unsigned char smem[];
    REAL* red = reinterpret_cast<REAL*>(smem);  // (blockDim.x,) for reductions
    REAL* o = OT + (long long)blockIdx.x * K;
    const int tid = threadIdx.x, n = blockDim.x;

    REAL mx = -3.0e38;  // below any logit, and a float (NVRTC defines no INFINITY or FLT_MAX)
    for (int k = tid; k < K; k += n) {
        o[k] += c[k];  // eq. (3)'s + c
        mx = fmax(mx, o[k]);  // each thread reads only the logits it wrote: no barrier needed yet
    }
    red[tid] = mx;
    __syncthreads();
    for (int half = n / 2; half > 0; half /= 2) {
        if (tid < half) red[tid] = fmax(red[tid], red[tid + half]);
        __syncthreads();
    }
    mx = red[0];
    const long long target = y[blockIdx.x];
    const REAL oy = o[target] - mx;  // the target's shifted logit, read before anyone exponentiates
    __syncthreads();

    REAL sum = 0;
    for (int k = tid; k < K; k += n) {
        o[k] = exp(o[k] - mx);
        sum += o[k];
    }
    red[tid] = sum;
    __syncthreads();
    for (int half = n / 2; half > 0; half /= 2) {
        if (tid < half) red[tid] += red[tid + half];
        __syncthreads();
    }
    sum = red[0];

    if (tid == 0) loss[blockIdx.x] = log(sum) - oy;  // eq. (5) for this row, as log-sum-exp
    for (int k = tid; k < K; k += n) o[k] = o[k] / sum - (k == target ? 1 : 0);
}
