"""WGAN-GP's gradient penalty and its parameter gradient, a double backward: derivations/13 results 13.1-13.2.

For a critic MLP f with scalar identity output, at points x (N, D):

* :func:`input_gradient` gives g = grad_x f (N, D), the ordinary backward pass from df/da_L = 1;
* :func:`penalty_and_grads` gives P = (lam / N) sum_n (||g_n|| - 1)^2 and dP/dtheta by a tangent pass
  started from u = dP/dg (13.3)-(13.5) and its reverse pass with two adjoints per layer (13.6)-(13.7).
"""
from __future__ import annotations

from .. import activations, backend, validate
from ..nn import MLP


def _check(net: MLP) -> None:
    if net.sizes[-1] != 1 or net.output != "identity":
        raise ValueError("the gradient penalty needs a critic with one identity output unit")


def input_gradient(net: MLP, params, x):
    """g = grad_x f(x): (N, D), and the forward caches. Result 13.1."""
    _check(net)
    xp = backend.get_array_module(x)
    out, caches = net.forward(params, x)
    return net.backward(xp.ones_like(out), caches, None), caches


def penalty_and_grads(net: MLP, params, x, lam: float):
    """P = (lam / N) sum_n (||g_n|| - 1)^2 at points x (N, D), and dP/d(params) as a ParamDict (13.2)-(13.7).

    Returns (P, mean ||g||, grads). The gradients are written, not added, into a fresh ParamDict.
    """
    validate.batch(x, params.flat.dtype, "x")
    lam = validate.number(lam, "lam", minimum=0.0)
    xp = backend.get_array_module(x)
    g, caches = input_gradient(net, params, x)
    n, f = x.shape[0], x.dtype.type
    norm = xp.sqrt((g * g).sum(axis=1, keepdims=True))
    excess = norm - f(1)
    penalty = f(lam / n) * (excess * excess).sum()
    u = f(2 * lam / n) * excess * g / xp.maximum(norm, f(1e-12))                      # (13.3)
    tangent, slopes = [u], []                                                          # (13.5): dh_0 = u
    for i in range(1, net.n_layers + 1):
        (h_prev, W), act, act_cache = caches[i - 1]
        a_dot = tangent[-1] @ W
        if i < net.n_layers:
            s1, s2 = activations.slopes(act, act_cache)
            slopes.append((s1, s2, a_dot))
            tangent.append(s1 * a_dot)
    grads = params.empty_like()
    a_dot_bar = xp.ones((n, 1), dtype=x.dtype)                                         # dS/d(a_dot_L) = 1
    a_bar = xp.zeros((n, 1), dtype=x.dtype)                                            # S ignores f itself
    for i in range(net.n_layers, 0, -1):
        (h_prev, W), _, _ = caches[i - 1]
        grads[f"{net.prefix}.W{i}"][...] = tangent[i - 1].T @ a_dot_bar + h_prev.T @ a_bar    # (13.6)
        grads[f"{net.prefix}.b{i}"][...] = a_bar.sum(axis=0)
        if i > 1:
            s1, s2, a_dot_prev = slopes[i - 2]
            h_dot_bar, h_bar = a_dot_bar @ W.T, a_bar @ W.T
            a_dot_bar, a_bar = h_dot_bar * s1, h_bar * s1 + h_dot_bar * s2 * a_dot_prev      # (13.7)
    return penalty, norm.mean(), grads
