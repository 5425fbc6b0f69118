"""A vanilla RNN's loss and gradients in the handout's notation, loops and all.

A template for `python cli.py check docs/examples/rnn.py`, which runs it
against our reference in three regimes (docs/check.md). Copy it, change it,
check it again.
"""

import numpy as np


def loss_and_grads(U, W, V, b, c, X, Y, h0):
    """The summed loss of one sequence, its gradients and the last hidden state.

    U (m, K), W (m, m), V (K, m), b (m, 1), c (K, 1), h0 (m, 1);
    X, Y one-hot (K, tau).
    """
    K, tau = X.shape
    m = W.shape[0]

    # forward pass, eqs. (1)-(5)
    A = np.zeros((m, tau))  # a_1 ... a_tau in columns 0 ... tau-1
    H = np.zeros((m, tau + 1))  # H[:, 0] is h0, H[:, t + 1] is h_{t+1}
    P = np.zeros((K, tau))
    H[:, [0]] = h0
    loss = 0.0
    for t in range(tau):
        A[:, [t]] = W @ H[:, [t]] + U @ X[:, [t]] + b  # (m, 1)
        H[:, [t + 1]] = np.tanh(A[:, [t]])  # (m, 1)
        o = V @ H[:, [t + 1]] + c  # (K, 1)
        e = np.exp(o - np.max(o))  # the shift keeps exp from overflowing
        P[:, [t]] = e / np.sum(e)  # (K, 1)
        loss -= np.log(Y[:, t] @ P[:, t])  # -log p of the target

    # backward pass (BPTT), eqs. (6)-(10)
    grads = {"U": np.zeros_like(U), "W": np.zeros_like(W), "V": np.zeros_like(V)}
    grads |= {"b": np.zeros_like(b), "c": np.zeros_like(c)}
    da_next = np.zeros((m, 1))  # dL/da_{t+1}; 0 after the last step
    for t in reversed(range(tau)):
        g = P[:, [t]] - Y[:, [t]]  # (K, 1)  dL/do_t
        grads["V"] += g @ H[:, [t + 1]].T
        grads["c"] += g
        dh = V.T @ g + W.T @ da_next  # (m, 1)  dL/dh_t
        da = dh * (1 - H[:, [t + 1]] ** 2)  # (m, 1)  tanh'(a_t) = 1 - h_t^2
        grads["W"] += da @ H[:, [t]].T  # h_{t-1}; for the first step h0
        grads["U"] += da @ X[:, [t]].T
        grads["b"] += da
        da_next = da
    return loss, grads, H[:, [tau]]
