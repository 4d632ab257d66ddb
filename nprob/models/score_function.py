"""The score-function estimator of the Gaussian model's recognition gradient: derivations/12 result 12.5.

For a batch x (N, D) and noise eps (L, N, J), z_il = mu_i + exp(logvar_i / 2) * eps_li, the negative
ELBO's gradient in phi with the reconstruction term by the score function (12.4) and (12.7):

    grad = -(1/(L N)) sum_il (log p(x_i | z_il) - beta_i) grad_phi log q(z_il | x_i) + grad_phi KL_i / N,

where beta (N,) is a baseline drawn independently of eps (result 12.3), or 0. The KL is exact, as in
AEVB, so the two estimators of result 12.5 differ only in the reconstruction term.
"""
from __future__ import annotations

from .. import distributions as D
from .. import validate
from .helmholtz import HelmholtzMachine


def recognition_grads(model: HelmholtzMachine, enc, dec, x, eps, baseline=None):
    """The phi-gradient above with the noise held fixed. x: (N, D); eps: (L, N, J); baseline: (N,) or None.

    Returns a ParamDict like ``enc``. No gradient flows through z: only log q's score is used.
    """
    validate.batch(x, enc.flat.dtype, "x")
    eps = validate.noise(validate.float_array(eps, enc.flat.dtype, "eps"), x.shape[0], model.z_dim)
    L, N = eps.shape[0], x.shape[0]
    mu, logvar, cache = model.encode(enc, x)
    z, std = D.gaussian_sample(mu, logvar, eps)                                 # eq. (3.4)
    f = D.bernoulli_log_likelihood(x, model.decode(dec, z)[0])                  # (L, N)
    c = (f if baseline is None else f - baseline[None]) * x.dtype.type(-1.0 / (L * N))
    dmu = (c[..., None] * eps / std[None]).sum(axis=0)                          # (12.7), mu part
    dlogvar = (c[..., None] * (eps * eps - 1)).sum(axis=0) * x.dtype.type(0.5)  # (12.7), v part
    dkl_mu, dkl_logvar = D.kl_to_standard_normal_grads(mu, logvar)              # KL part of (3.7)-(3.9)
    g = enc.empty_like()
    inv_n = x.dtype.type(1.0 / N)
    model.encode_backward(dmu + dkl_mu * inv_n, dlogvar + dkl_logvar * inv_n, cache, g)
    return g


def pilot_baseline(model: HelmholtzMachine, enc, dec, x, eps):
    """beta(x) (N,): the mean of log p(x | z) over the pilot draws z = mu + std * eps, eps: (P, N, J),
    drawn independently of the noise the estimator will use (result 12.3)."""
    mu, logvar, _ = model.encode(enc, x)
    z, _ = D.gaussian_sample(mu, logvar, eps)
    return D.bernoulli_log_likelihood(x, model.decode(dec, z)[0]).mean(axis=0)
