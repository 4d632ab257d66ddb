"""IWAE: minimise -L_k itself, one draw of the estimator inside derivations/05 eq. (5.1) per image.

For a batch x (N, D) and noise eps (K, N, J), with z_i = mu + exp(logvar / 2) * eps_i:

    loss = -(1/N) sum_n log (1/K) sum_i w_ni,   log w = log p(x | z) + log p(z) - log q(z | x).

Its gradient is the normalised-weight average of per-sample gradients,
derivations/11-training-on-the-bound.md eqs. (11.2)-(11.3).
"""
from __future__ import annotations

from .. import validate
from .. import distributions as D
from ..stable import normalised_weights
from .helmholtz import HelmholtzMachine


def loss_and_grads(model: HelmholtzMachine, enc, dec, x, eps):
    """-L_k estimate (k = K) and its gradients with the noise held fixed.

    x: (N, D); eps: (K, N, J). Returns ``({'loss', 'ess'}, (grad_enc, grad_dec))``, where ess is
    the mean effective sample size 1 / sum_i w~_i^2 (between 1 and K).
    """
    validate.batch(x, enc.flat.dtype, "x")
    eps = validate.noise(validate.float_array(eps, enc.flat.dtype, "eps"), x.shape[0], model.z_dim)
    N, f = x.shape[0], x.dtype.type
    mu, logvar, enc_cache = model.encode(enc, x)
    z, std = D.gaussian_sample(mu, logvar, eps)                                  # (K, N, J), eq. (3.4)
    logits, dec_cache = model.decode(dec, z)
    log_px, dlog_px = D.bernoulli_log_likelihood_and_grad(x, logits)             # (K, N), (K, N, D)
    log_w = log_px + D.standard_normal_log_density(z) - D.gaussian_log_density(z, mu, logvar)
    w, estimate = normalised_weights(log_w)                                      # eq. (11.1)
    g_enc, g_dec = enc.empty_like(), dec.empty_like()
    scale = w * f(-1.0 / N)                                                      # d loss / d log w_i
    dz = model.decode_backward(dlog_px * scale[..., None], dec_cache, g_dec)     # theta part of (11.3); -w g / N
    dz -= z * scale[..., None]                                                   # d loss / dz along the path: -w (g - z) / N
    dmu, dlogvar = D.gaussian_sample_backward(dz, std, eps)                      # mu and v parts of (11.3)
    dlogvar -= f(0.5 / N)                                                        # the 1/2 of (11.3), as sum_i w~_i = 1
    model.encode_backward(dmu, dlogvar, enc_cache, g_enc)
    return {"loss": -estimate.mean(), "ess": (1 / (w * w).sum(axis=0)).mean()}, (g_enc, g_dec)
