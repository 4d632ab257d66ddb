"""Wake-Sleep: two phases, each updating one network on its own objective.

Wake (derivations/02-wake-sleep.md eq. (2.4)): with phi fixed, z ~ q(z|x) by
z = mu + std * eps, and theta minimises -(1/(N L)) sum log p(x | z). No
gradient flows into the recognition network.

Sleep (eq. (2.7)): with theta fixed, dream z ~ N(0, I) and a binary fantasy
x ~ Bernoulli(sigmoid(f(z))); phi minimises -(1/M) sum log q(z | x). No
gradient flows into the generative network.
"""
from __future__ import annotations

from .. import distributions as D
from .. import validate
from ..stable import sigmoid
from .helmholtz import HelmholtzMachine


def wake_loss_and_grads(model: HelmholtzMachine, enc, dec, x, eps):
    """x: (N, D); eps: (L, N, J) or (N, J). Returns ({'wake'}, grad_dec): the generator's step only."""
    validate.batch(x, dec.flat.dtype, "x")
    eps = validate.noise(validate.float_array(eps, dec.flat.dtype, "eps"), x.shape[0], model.z_dim)
    L, N = eps.shape[0], x.shape[0]
    mu, logvar, _ = model.encode(enc, x)
    z, _ = D.gaussian_sample(mu, logvar, eps)   # a sample, treated as data: no backward into phi
    logits, dec_cache = model.decode(dec, z)
    log_px, dlog_px = D.bernoulli_log_likelihood_and_grad(x, logits)
    wake = -log_px.mean()
    g_dec = dec.empty_like()                                         # written, not added, below
    dlogits = dlog_px * x.dtype.type(-1.0 / (L * N))
    model.decode_backward(dlogits, dec_cache, g_dec, need_dz=False)
    return {"wake": wake}, g_dec


def dream(model: HelmholtzMachine, dec, z, u):
    """Fantasies from the generative model: z (M, J) from the prior, u (M, D) uniform noise.

    Returns binary x (M, D) with x_d = 1[u_d < sigmoid(f(z))_d].
    """
    logits, _ = model.decode(dec, z)
    return D.bernoulli_sample(sigmoid(logits), u)


def sleep_loss_and_grads(model: HelmholtzMachine, enc, z, x_dream):
    """z: (M, J) the dreamt causes; x_dream: (M, D) their fantasies. Returns ({'sleep'}, grad_enc)."""
    validate.batch(z, enc.flat.dtype, "z")
    validate.batch(x_dream, enc.flat.dtype, "x_dream")
    M = z.shape[0]
    mu, logvar, enc_cache = model.encode(enc, x_dream)
    sleep = -D.gaussian_log_density(z, mu, logvar).mean()
    _, dmu, dlogvar = D.gaussian_log_density_grads(z, mu, logvar)   # eq. (2.9)
    g_enc = enc.empty_like()
    inv_m = z.dtype.type(-1.0 / M)
    model.encode_backward(dmu * inv_m, dlogvar * inv_m, enc_cache, g_enc)
    return {"sleep": sleep}, g_enc
