"""Reweighted wake-sleep: wake-theta and wake-phi by self-normalised importance sampling on real data.

derivations/11-training-on-the-bound.md result 11.2. With k codes z_i = mu + std * eps_i from q
(not reparameterised: no gradient flows through z) and normalised weights w~_i, eq. (11.1):

* wake-theta minimises -(1/N) sum_n sum_i w~_ni log p(x_n | z_ni), w~ held fixed: the
  self-normalised estimate of grad log p(x) (Fisher's identity), the same as IWAE's theta-gradient;
* wake-phi minimises eq. (11.4), -(1/N) sum_n sum_i w~_ni log q(z_ni | x_n), w~ and z held fixed:
  the estimate of grad KL(p(z|x) || q(z|x)).
"""
from __future__ import annotations

from .. import validate
from .. import distributions as D
from ..stable import normalised_weights
from .helmholtz import HelmholtzMachine


def loss_and_grads(model: HelmholtzMachine, enc, dec, x, eps):
    """x: (N, D); eps: (K, N, J). Returns ({'loss', 'wake_phi'}, (grad_enc, grad_dec)).

    'loss' is -L_k (one draw per image), whose theta-gradient wake-theta follows; 'wake_phi' is the
    surrogate (11.4). Both gradients are computed with the weights and codes held constant.
    """
    validate.batch(x, enc.flat.dtype, "x")
    eps = validate.noise(validate.float_array(eps, enc.flat.dtype, "eps"), x.shape[0], model.z_dim)
    N, f = x.shape[0], x.dtype.type
    mu, logvar, enc_cache = model.encode(enc, x)
    z, _ = D.gaussian_sample(mu, logvar, eps)                                    # samples, treated as data
    logits, dec_cache = model.decode(dec, z)
    log_px, dlog_px = D.bernoulli_log_likelihood_and_grad(x, logits)
    log_q = D.gaussian_log_density(z, mu, logvar)                                # (K, N)
    w, estimate = normalised_weights(log_px + D.standard_normal_log_density(z) - log_q)
    scale = w * f(-1.0 / N)
    g_enc, g_dec = enc.empty_like(), dec.empty_like()
    model.decode_backward(dlog_px * scale[..., None], dec_cache, g_dec, need_dz=False)   # wake-theta
    _, dmu, dlogvar = D.gaussian_log_density_grads(z, mu, logvar)                # (2.9) at fixed z, (K, N, J)
    model.encode_backward((dmu * scale[..., None]).sum(axis=0), (dlogvar * scale[..., None]).sum(axis=0),
                          enc_cache, g_enc)                                      # wake-phi, eq. (11.4)
    return {"loss": -estimate.mean(), "wake_phi": -(w * log_q).sum(axis=0).mean()}, (g_enc, g_dec)
