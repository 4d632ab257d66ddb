"""Gradient estimators for the binary-latent Helmholtz machine: derivations/12 results 12.3 and 12.4.

No gradient flows through a binary sample (result 12.2), so every estimator here is a
weighted sum of two deterministic pieces with the codes h held fixed:

* :func:`generative_grads`: the gradient of -sum_nl c_nl log p(x_n, h_nl) in theta;
* :func:`recognition_grads`: the gradient of -sum_nl c_nl log q(h_nl | x_n) in phi.

Wake-Sleep, reweighted wake-sleep and the score-function estimator differ only in the
codes they use and in the weights c. Uniform noise u is an argument, so with u fixed each
loss is deterministic.
"""
from __future__ import annotations

from .. import backend, validate
from .. import distributions as D
from ..stable import normalised_weights, sigmoid
from .binary_helmholtz import PRIOR, BinaryHelmholtzMachine


def _codes_from_q(model: BinaryHelmholtzMachine, enc, gen, x, u, check_values: bool = True):
    """The prologue every data-side estimator shares: check x (N, D) and u (L, N, J) or (N, J), draw codes
    h from q with u, and evaluate log p(x, h). Returns (a, recognition cache, h, log p(x, h), pieces).

    ``check_values=False`` skips reading u's values (a host sync on a GPU), for callers that drew u from a
    uniform generator themselves (the trainers); shapes and dtypes are checked either way.
    """
    validate.batch(x, gen.flat.dtype, "x")
    u = validate.noise(validate.float_array(u, gen.flat.dtype, "u"), x.shape[0], model.h_dim, "u")
    if check_values:
        validate.uniforms(u)
    a, cache = model.recognition(enc, x)
    h = model.sample(a, u)
    lj, pieces = log_joint(model, gen, x, h)
    return a, cache, h, lj, pieces


def log_joint(model: BinaryHelmholtzMachine, gen, x, h):
    """log p(x, h) (L, N) for codes h (L, N, J), with the pieces :func:`generative_grads` needs."""
    logits, cache = model.decode(gen, h)
    log_px, dlog_px = D.bernoulli_log_likelihood_and_grad(x, logits)
    return log_px + model.log_prior(gen, h), (dlog_px, cache)


def generative_grads(model: BinaryHelmholtzMachine, gen, x, h, c, pieces):
    """Gradient in theta of -sum c * log p(x, h); c: (L, N) constants, h: (L, N, J), eq. (12.1)."""
    xp = backend.get_array_module(x)
    dlog_px, cache = pieces
    g = gen.empty_like()
    model.decode_backward(dlog_px * (-c)[..., None], cache, g)
    g[PRIOR][...] = -xp.sum(c[..., None] * (h - sigmoid(gen[PRIOR])), axis=(0, 1))    # d log p(h) / db = h - sigma(b)
    return g


def recognition_grads(model: BinaryHelmholtzMachine, enc, a, cache, h, c):
    """Gradient in phi of -sum c * log q(h | x); a: (N, J) q's logits, h: (L, N, J), c: (L, N), eq. (12.5)."""
    xp = backend.get_array_module(a)
    g = enc.empty_like()
    model.recognition_backward(-xp.sum(c[..., None] * (h - sigmoid(a)[None]), axis=0), cache, g)
    return g


def wake_loss_and_grads(model: BinaryHelmholtzMachine, enc, gen, x, u, check_values: bool = True):
    """Wake phase (result 12.4): codes from q, theta climbs log p(x, h). x: (N, D); u: (L, N, J)."""
    _, _, h, lj, pieces = _codes_from_q(model, enc, gen, x, u, check_values)
    c = backend.get_array_module(lj).full_like(lj, 1.0 / lj.size)
    return {"wake": -lj.mean()}, generative_grads(model, gen, x, h, c, pieces)


def dream(model: BinaryHelmholtzMachine, gen, u_h, u_x):
    """Codes h (M, J) from the prior and binary fantasies x (M, D) from p(x|h); u_h, u_x uniforms."""
    h = model.sample(gen[PRIOR], u_h)
    return h, D.bernoulli_sample(sigmoid(model.decode(gen, h)[0]), u_x)


def sleep_loss_and_grads(model: BinaryHelmholtzMachine, enc, h, x_dream):
    """Sleep phase (result 12.4): phi climbs log q(h | x~) on dreamt pairs. h: (M, J); x_dream: (M, D)."""
    validate.batch(x_dream, enc.flat.dtype, "x_dream")
    if h.shape != (x_dream.shape[0], model.h_dim):
        raise ValueError(f"h must have shape ({x_dream.shape[0]}, {model.h_dim}), got {tuple(h.shape)}")
    a, cache = model.recognition(enc, x_dream)
    lq = model.log_q(a, h)
    c = backend.get_array_module(lq).full_like(lq[None], 1.0 / h.shape[0])
    return {"sleep": -lq.mean()}, recognition_grads(model, enc, a, cache, h[None], c)


def rws_loss_and_grads(model: BinaryHelmholtzMachine, enc, gen, x, u, check_values: bool = True):
    """Reweighted wake-sleep (result 12.4 with 11.2): k codes per image from q, normalised weights.

    x: (N, D); u: (K, N, J). Returns ({'loss': -L_k estimate, 'wake_phi'}, (grad_enc, grad_gen)).
    """
    a, cache, h, lj, pieces = _codes_from_q(model, enc, gen, x, u, check_values)
    lq = model.log_q(a, h)
    w, estimate = normalised_weights(lj - lq)                                    # eq. (11.1)
    c = w * x.dtype.type(1.0 / x.shape[0])
    scalars = {"loss": -estimate.mean(), "wake_phi": -(c * lq).sum()}
    return scalars, (recognition_grads(model, enc, a, cache, h, c), generative_grads(model, gen, x, h, c, pieces))


def score_function_loss_and_grads(model: BinaryHelmholtzMachine, enc, gen, x, u, baseline,
                                  check_values: bool = True):
    """The ELBO's score-function estimator with a baseline, the surrogate (12.6). x: (N, D); u: (L, N, J).

    ``baseline``: a finite number, or a 0-d array on the device (with ``check_values=False``: a trainer's
    running mean, kept on the device so that a step never waits for the host). Returns ({'loss': -ELBO
    estimate, 'signal': mean learning signal s}, (grad_enc, grad_gen)); the caller keeps the running mean
    of 'signal' that becomes the next step's baseline.
    """
    if check_values:
        baseline = validate.number(baseline, "baseline")
    a, cache, h, lj, pieces = _codes_from_q(model, enc, gen, x, u, check_values)
    s = lj - model.log_q(a, h)                                                   # the learning signal, (L, N)
    inv = x.dtype.type(1.0 / s.size)
    beta = backend.get_array_module(s).asarray(baseline).astype(s.dtype)        # rounded as s.dtype.type(b) is
    g_enc = recognition_grads(model, enc, a, cache, h, (s - beta) * inv)
    g_gen = generative_grads(model, gen, x, h, backend.get_array_module(s).full_like(s, inv), pieces)
    return {"loss": -s.mean(), "signal": s.mean()}, (g_enc, g_gen)
