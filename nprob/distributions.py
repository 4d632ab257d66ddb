"""Log-densities, the Gaussian KL, and their gradients, all summed over the last axis.

One parametrisation throughout: a diagonal Gaussian is given by its mean ``mu``
and ``logvar`` = log sigma^2, with ``std = exp(0.5 * logvar)``. Functions
return log-densities (natural sign); models turn them into losses to minimise.
Shapes broadcast: ``mu, logvar`` (N, J) against ``z`` (N, J) or (L, N, J).
Equation numbers refer to ``derivations/``.
"""
from __future__ import annotations

import math

from . import backend
from .stable import softplus, softplus_and_sigmoid

LOG_2PI = math.log(2 * math.pi)

# ----------------------------------------------------------------------------- diagonal Gaussian


def gaussian_sample(mu, logvar, eps):
    """Reparameterised draw z = mu + exp(logvar / 2) * eps, derivations/03-aevb.md eq. (3.4).

    mu, logvar: (N, J); eps: (N, J) or (L, N, J) standard normal noise. Returns
    z with the shape of eps and the std (N, J), which the backward pass reuses.
    """
    std = backend.get_array_module(logvar).exp(logvar * logvar.dtype.type(0.5))
    return mu + std * eps, std


def gaussian_sample_backward(dz, std, eps):
    """dz: dLoss/dz, shape of eps. Returns dmu, dlogvar (N, J), summed over samples.

    dz/dmu = 1 and dz/dlogvar = eps * std / 2, eq. (3.9).
    """
    dlogvar = dz * eps * std * std.dtype.type(0.5)
    if dz.ndim == std.ndim + 1:
        return dz.sum(axis=0), dlogvar.sum(axis=0)
    return dz, dlogvar


def gaussian_log_density(z, mu, logvar):
    """log N(z; mu, diag(exp(logvar))) summed over the last axis, derivations/02-wake-sleep.md eq. (2.8).

    z, mu, logvar broadcast together; returns their broadcast shape without the last axis.
    """
    xp = backend.get_array_module(z)
    diff = z - mu
    half = z.dtype.type(0.5)
    return -half * xp.sum(z.dtype.type(LOG_2PI) + logvar + diff * diff * xp.exp(-logvar), axis=-1)


def gaussian_log_density_grads(z, mu, logvar):
    """Gradients of :func:`gaussian_log_density` w.r.t. z, mu and logvar, eq. (2.9).

    d/dz = -(z - mu) / sigma^2, d/dmu = (z - mu) / sigma^2,
    d/dlogvar = ((z - mu)^2 / sigma^2 - 1) / 2; each with the broadcast shape.
    """
    xp = backend.get_array_module(z)
    scaled = (z - mu) * xp.exp(-logvar)
    dlogvar = (scaled * (z - mu) - 1) * z.dtype.type(0.5)
    return -scaled, scaled, dlogvar


def standard_normal_log_density(z):
    """log N(z; 0, I) summed over the last axis: the prior p(z)."""
    xp = backend.get_array_module(z)
    return -z.dtype.type(0.5) * xp.sum(z * z + z.dtype.type(LOG_2PI), axis=-1)


def kl_to_standard_normal(mu, logvar):
    """KL(N(mu, diag(exp(logvar))) || N(0, I)) per row, derivations/03-aevb.md eq. (3.3).

    = -1/2 sum_j (1 + logvar_j - mu_j^2 - exp(logvar_j)); mu, logvar: (N, J) -> (N,).
    """
    xp = backend.get_array_module(mu)
    return -mu.dtype.type(0.5) * xp.sum(1 + logvar - mu * mu - xp.exp(logvar), axis=-1)


def kl_to_standard_normal_grads(mu, logvar):
    """dKL/dmu = mu and dKL/dlogvar = (exp(logvar) - 1) / 2: the KL parts of eqs. (3.7) and (3.9)."""
    xp = backend.get_array_module(mu)
    return mu, (xp.exp(logvar) - 1) * logvar.dtype.type(0.5)


# ----------------------------------------------------------------------------- Bernoulli


def bernoulli_log_likelihood(x, logits):
    """sum_d [x_d log sigmoid(l_d) + (1 - x_d) log(1 - sigmoid(l_d))] = sum_d [x_d l_d - softplus(l_d)].

    The sigmoid cross-entropy of the assignment, eq. (3.6) of derivations/03-aevb.md:
    x in [0, 1] may be grey levels, and the right-hand form is finite for logits
    of any size. x: (N, D), logits: (N, D) or (L, N, D); returns the leading shape.
    """
    xp = backend.get_array_module(logits)
    return xp.sum(x * logits - softplus(logits), axis=-1)


def bernoulli_log_likelihood_and_grad(x, logits):
    """:func:`bernoulli_log_likelihood` and its gradient x - sigmoid(logits), eq. (3.6), together.

    Both are computed from one exp(-|l|) (:func:`nprob.stable.softplus_and_sigmoid`).
    Returns the log-likelihood (leading shape) and the gradient (shape of logits).
    """
    xp = backend.get_array_module(logits)
    sp, s = softplus_and_sigmoid(logits)
    return xp.sum(x * logits - sp, axis=-1), x - s


def bernoulli_sample(probs, u):
    """Binary draws x = 1[u < probs] from uniform noise u of the same shape, in probs' dtype."""
    return (u < probs).astype(probs.dtype)
