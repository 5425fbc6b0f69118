"""Bugs students make in BPTT, each a small mutation of the reference, and the sentence that names it.

Docs: gradcheck.md#bugs.

`loss_and_grads(..., bug=None)` is eqs. (1)-(10) for one stream in the handout's notation
(a test holds it to backends/numpy_backend.py); each bug is planted at the line where it is made.
They come from the handouts' own traps and from public solutions of the assignment.
"""

from dataclasses import dataclass

import numpy as np

from common.contract import CLIP


@dataclass(frozen=True)
class Bug:
    name: str  # short, for tables; the key planted in loss_and_grads
    says: str  # the one sentence `check` prints when a student's gradients equal this bug's
    hides: str = ""  # why the handout's check (sigma = 0.01, h0 = 0) misses it or barely sees it; "" when it does not
    warning: bool = False  # a loss of precision: reported, not failed


BUGS = [
    Bug(
        "tanh' from a",
        "da_t uses 1 - a_t^2 for tanh'(a_t); it is 1 - h_t^2, with h_t = tanh(a_t).",
        "every a_t is tiny at sigma = 0.01: tanh(a_t) is a_t to many digits, 1 - a_t^2 is 1 - h_t^2 to about 1e-8",
    ),
    Bug("dW with h_t", "dW sums da_t h_t^T; a_t = W h_{t-1} + ..., so it is da_t h_{t-1}^T."),
    Bug(
        "dW without h_0",
        "dW misses the da_1 h_0^T term: does your H[:, t] for t = 0 hold h0?",
        "h0 = 0 makes the missing term zero",
    ),
    Bug("no W^T da_{t+1}", "dh_t misses W^T da_{t+1}, the gradient that flows back from step t+1."),
    Bug("W da_{t+1}", "dh_t adds W da_{t+1}; the recurrence needs the transpose, W^T da_{t+1}."),
    Bug(
        "W^T dh_{t+1}",
        "dh_t adds W^T dh_{t+1}; it needs W^T da_{t+1}, after the step's tanh'.",
        "1 - h^2 is 1 to about 1e-4 at sigma = 0.01 and the recurrent term is small: the error lands near the "
        "tolerance, caught or missed by the draw",
    ),
    Bug(
        "no tanh'",
        "da_t = dh_t: it must be multiplied by tanh'(a_t) = 1 - h_t^2.",
    ),
    Bug("dV with h_{t-1}", "dV sums g_t h_{t-1}^T; o_t = V h_t + c, so it is g_t h_t^T."),
    Bug("dU by y", "dU sums da_t y_t^T; the input of step t is x_t, so it is da_t x_t^T."),
    Bug("db from one step", "db holds da_t of one step only: add every step's, db += da_t, not db = da_t."),
    Bug("dc from one step", "dc holds g_t of one step only: add every step's, dc += g_t, not dc = g_t."),
    Bug("p, not p - y", "g_t = p_t: the gradient of the loss with respect to o_t is p_t - y_t."),
    Bug("softmax over time", "p is normalised over the tau steps; each column o_t (over the K characters) is its own."),
    Bug(
        "h0 ignored",
        "your forward pass starts from zeros, not from h0.",
        "h0 = 0 there, so starting from zeros is starting from h0",
    ),
    Bug(
        "clipped",
        f"your gradients are clipped to [-{CLIP:g}, {CLIP:g}]: clip in the update, not in the gradient you return.",
        f"gradient entries rarely pass {CLIP:g} at sigma = 0.01: dc's largest is about the count of the chunk's "
        "commonest target",
    ),
    Bug("gradient scaled", "your gradients and your loss disagree by a factor tau: one is the mean, one the sum."),
    Bug("other loss", "your loss and gradients are the other reduction: check the --loss you ran with (sum or mean)."),
    Bug(
        "skips t = 1",
        "the backward loop stops before t = 1: step 1's g_1 and da_1 are missing from every sum.",
    ),
    Bug(
        "skips t = tau",
        "the backward loop starts at t = tau - 1: the last step's g_tau and da_tau are missing from every sum.",
    ),
    Bug(
        "no tanh' at tau",
        "da_tau = dh_tau at the last step: tanh'(a_tau) = 1 - h_tau^2 multiplies it too.",
    ),
    Bug(
        "no V^T g_1",
        "dh_1 misses V^T g_1: every step's dh_t starts from its own output term, the first step's too.",
    ),
    Bug(
        "dU with x_{t+1}",
        "dU sums da_t x_{t+1}^T; the input of step t is x_t, so it is da_t x_t^T.",
    ),
    Bug("dc sign", "dc is -sum g_t: dL/dc = sum_t (p_t - y_t), with the sign of g_t."),
    Bug("loss in log2", "the loss uses log2: the cross-entropy is -ln p_t[y_t], the natural log (np.log)."),
    Bug(
        "loss without tau",
        "the loss leaves out the last step: it adds -log p_t[y_t] for every t = 1 ... tau.",
    ),
    Bug("dW transposed", "dW is transposed: dW = sum_t da_t h_{t-1}^T, (m, m) either way round."),
    Bug(
        "float32",
        "something is float32 (H, P or the weights): gradients off by about 1e-7; keep float64 for the check.",
        "no regime fails it: it is a loss of precision, below the tolerance 1e-6",
        warning=True,
    ),
    Bug(
        "epsilon in log",
        "the loss is -log(p + eps): it is off by eps / p per step; log-sum-exp needs no epsilon.",
        "no regime fails it: the gradient p - y never sees the epsilon",
        warning=True,
    ),
]
BY_NAME = {bug.name: bug for bug in BUGS}


def loss_and_grads(U, W, V, b, c, x, y, h0, bug: str | None = None, scale: float = 1.0, clip: bool = False):
    """scale * L, its gradients (dict U, W, V, b, c) and h_tau, for x, y of shape (tau,); with `bug` planted,
    and the gradients clipped to [-CLIP, CLIP] after it when clip."""
    assert bug is None or bug in BY_NAME, bug
    dtype = np.float32 if bug == "float32" else np.float64
    U, W, V, b, c, h0 = (np.asarray(a, dtype) for a in (U, W, V, b, c, h0))
    K, m, tau = V.shape[0], W.shape[0], len(x)
    steps = np.arange(tau)

    A = np.zeros((m, tau), dtype)  # a_1 ... a_tau
    H = np.zeros((m, tau + 1), dtype)  # h_0 ... h_tau
    H[:, 0] = 0 if bug == "h0 ignored" else h0[:, 0]
    for t in range(tau):
        A[:, t] = W @ H[:, t] + U[:, x[t]] + b[:, 0]  # (m,)  eq. (1)
        H[:, t + 1] = np.tanh(A[:, t])  # (m,)  eq. (2)
    O = V @ H[:, 1:] + c  # (K, tau)  eq. (3)
    over = 1 if bug == "softmax over time" else 0
    E = np.exp(O - O.max(axis=over, keepdims=True))
    P = E / E.sum(axis=over, keepdims=True)  # (K, tau)  eq. (4)
    log = np.log2 if bug == "loss in log2" else np.log
    counted = steps[:-1] if bug == "loss without tau" else steps
    loss = -log(P[y[counted], counted] + (1e-12 if bug == "epsilon in log" else 0)).sum()  # eq. (5)

    G = P.copy()  # (K, tau)
    if bug != "p, not p - y":
        G[y, steps] -= 1  # eq. (6): g_t = p_t - y_t
    skipped = {"skips t = 1": 0, "skips t = tau": tau - 1}.get(bug)  # a step the backward loop never visits
    if skipped is not None:
        G[:, skipped] = 0
    dV = G @ (H[:, :-1] if bug == "dV with h_{t-1}" else H[:, 1:]).T  # (K, m)  eq. (7)
    dc = G[:, :1] if bug == "dc from one step" else G.sum(axis=1, keepdims=True)  # (K, 1)  eq. (7)
    dc = -dc if bug == "dc sign" else dc
    DA = np.zeros((m, tau), dtype)  # da_1 ... da_tau
    da = dh = np.zeros(m, dtype)  # da_{tau+1} = 0
    for t in reversed(steps):
        if t == skipped:
            da = dh = np.zeros(m, dtype)
            continue
        back = {"no W^T da_{t+1}": 0 * da, "W da_{t+1}": W @ da, "W^T dh_{t+1}": W.T @ dh}.get(bug, W.T @ da)
        out = 0 if bug == "no V^T g_1" and t == 0 else V.T @ G[:, t]
        dh = out + back  # (m,)  eq. (8)
        tanh_prime = 1 - (A[:, t] ** 2 if bug == "tanh' from a" else H[:, t + 1] ** 2)
        flat = bug == "no tanh'" or (bug == "no tanh' at tau" and t == tau - 1)
        da = dh if flat else dh * tanh_prime  # (m,)  eq. (9)
        DA[:, t] = da
    before = H[:, 1:] if bug == "dW with h_t" else H[:, :-1].copy()  # h_{t-1} of each step
    if bug == "dW without h_0":
        before[:, 0] = 0
    dW = DA @ before.T  # (m, m)  eq. (10)
    dW = dW.T if bug == "dW transposed" else dW
    dU = np.zeros((m, K), dtype)
    if bug == "dU with x_{t+1}":  # x_{tau+1} is not among the inputs: the last step adds nothing
        np.add.at(dU.T, x[1:], DA[:, :-1].T)  # (m, K)
    else:
        np.add.at(dU.T, y if bug == "dU by y" else x, DA.T)  # (m, K)  eq. (10): column x_t gets da_t
    db = DA[:, :1] if bug == "db from one step" else DA.sum(axis=1, keepdims=True)  # (m, 1)  eq. (10)

    grads = {"U": dU, "W": dW, "V": dV, "b": db, "c": dc}
    other = (1 / tau if scale == 1 else 1) / scale  # the factor from this reduction to the other one
    loss_scale = scale * (other if bug == "other loss" else 1)
    grad_scale = scale * (other if bug in ("other loss", "gradient scaled") else 1)
    grads = {k: grad_scale * g.astype(np.float64) for k, g in grads.items()}
    if bug == "clipped" or clip:
        grads = {k: np.clip(g, -CLIP, CLIP) for k, g in grads.items()}
    return float(loss_scale * loss), grads, H[:, -1:].astype(np.float64)
