"""AEVB: minimise the negative reparameterised ELBO estimator, derivations/03-aevb.md eq. (3.5).

For a batch x (N, D) and noise eps (L, N, J):

    loss = (1/N) sum_i [ KL(q(z|x_i) || p(z)) - (1/L) sum_l log p(x_i | z_il) ],
    z_il = mu_i + exp(logvar_i / 2) * eps_li,

with the KL in closed form (eq. 3.3). This is -L~ of the assignment's eq. (9), numbered (A9) in
derivations/03-aevb.md, averaged over the batch, so its unit is nats per image.
"""
from __future__ import annotations

from .. import distributions as D
from .. import validate
from .helmholtz import HelmholtzMachine


def loss_and_grads(model: HelmholtzMachine, enc, dec, x, eps):
    """Negative ELBO estimate and its gradients with the noise ``eps`` held fixed.

    x: (N, D) in [0, 1], in the parameters' float dtype; eps: (L, N, J) standard normal, or
    (N, J) for L = 1. Returns ``({'loss', 'kl', 'recon'}, (grad_enc, grad_dec))``; scalars
    stay on the device.
    """
    validate.batch(x, enc.flat.dtype, "x")
    eps = validate.noise(validate.float_array(eps, enc.flat.dtype, "eps"), x.shape[0], model.z_dim)
    L, N = eps.shape[0], x.shape[0]
    mu, logvar, enc_cache = model.encode(enc, x)
    z, std = D.gaussian_sample(mu, logvar, eps)                      # eq. (3.4)
    logits, dec_cache = model.decode(dec, z)                         # (L, N, D)
    log_px, dlog_px = D.bernoulli_log_likelihood_and_grad(x, logits)  # (L, N) and (L, N, D), eq. (3.6)
    kl = D.kl_to_standard_normal(mu, logvar)                         # (N,), eq. (3.3)
    recon = -log_px.mean()
    kl_mean = kl.mean()

    g_enc, g_dec = enc.empty_like(), dec.empty_like()                # every entry is written below
    dlogits = dlog_px * x.dtype.type(-1.0 / (L * N))                 # d loss / d logits
    dz = model.decode_backward(dlogits, dec_cache, g_dec)            # theta gradient, eq. (3.10)
    dmu, dlogvar = D.gaussian_sample_backward(dz, std, eps)          # reconstruction part of eq. (3.7)-(3.9)
    dkl_mu, dkl_logvar = D.kl_to_standard_normal_grads(mu, logvar)   # KL part of eq. (3.7)-(3.9)
    inv_n = x.dtype.type(1.0 / N)
    model.encode_backward(dmu + dkl_mu * inv_n, dlogvar + dkl_logvar * inv_n, enc_cache, g_enc)
    return {"loss": recon + kl_mean, "kl": kl_mean, "recon": recon}, (g_enc, g_dec)
