"""The players' losses of the GAN games, from logits, with their gradients.

D(x) = sigmoid(a) for a discriminator logit a. With log sigmoid(a) = -softplus(-a)
and log(1 - sigmoid(a)) = -softplus(a), every loss below is finite for logits of
any size. All are means over the batch and are minimised; equation numbers refer
to derivations/06-gan-optimality.md.
"""
from __future__ import annotations

from .. import backend
from ..stable import sigmoid, softplus

GENERATOR_LOSSES = ("minimax", "nonsaturating")


def discriminator_loss(a_real, a_fake, real_label: float = 1.0):
    """-[mean log D(x_real) + mean log(1 - D(x_fake))] = -V(D, G), eq. (6.1); with ``real_label`` = alpha < 1,
    one-sided label smoothing: the real term becomes the cross-entropy to the target alpha,
    -[alpha log D + (1 - alpha) log(1 - D)], derivations/14 eq. (14.8).

    a_real: (N, 1), a_fake: (M, 1). Returns the loss and dloss/da_real, dloss/da_fake.
    d softplus(-a)/da = sigmoid(a) - 1 is computed as -sigmoid(-a): the same number, but exact
    for large a, where 1 - sigmoid(a) would cancel to 0 (in float32 from a of about 17 on).
    """
    n, m = a_real.shape[0], a_fake.shape[0]
    loss = softplus(-a_real).mean() + softplus(a_fake).mean()
    da_real = sigmoid(-a_real) * a_real.dtype.type(-1 / n)
    if real_label != 1.0:                                   # alpha (-log D) + (1 - alpha)(-log(1 - D)), eq. (14.8)
        smooth = a_real.dtype.type(1 - real_label)
        loss = loss + smooth * (softplus(a_real).mean() - softplus(-a_real).mean())
        da_real = (sigmoid(a_real) - a_real.dtype.type(real_label)) * a_real.dtype.type(1 / n)
    return loss, da_real, sigmoid(a_fake) * a_fake.dtype.type(1 / m)


def generator_loss(a_fake, kind: str):
    """The generator's loss on fake logits a_fake (M, 1) and dloss/da_fake.

    ``minimax``: mean log(1 - D(G(z))) = -mean softplus(a), gradient -sigmoid(a) / M,
    which vanishes as D(G(z)) -> 0, eq. (6.6). ``nonsaturating``: -mean log D(G(z)) =
    mean softplus(-a), gradient (sigmoid(a) - 1) / M = -sigmoid(-a) / M (the form computed: exact
    in both tails), which tends to -1 / M there, eq. (6.7).
    """
    m = a_fake.shape[0]
    inv = a_fake.dtype.type(1 / m)
    if kind == "minimax":
        return -softplus(a_fake).mean(), -sigmoid(a_fake) * inv
    if kind == "nonsaturating":
        return softplus(-a_fake).mean(), -sigmoid(-a_fake) * inv
    raise ValueError(f"unknown generator loss {kind!r}; choose one of {', '.join(GENERATOR_LOSSES)}")


def critic_loss(f_real, f_fake):
    """Earth-Mover critic: minimise mean f(fake) - mean f(real), derivations/07-distances.md eq. (7.3)."""
    xp = backend.get_array_module(f_real)
    return (f_fake.mean() - f_real.mean(), xp.full_like(f_real, -1 / f_real.shape[0]),
            xp.full_like(f_fake, 1 / f_fake.shape[0]))


def critic_generator_loss(f_fake):
    """The generator against a critic: minimise -mean f(G(z)); gradient -1 / M per sample."""
    return -f_fake.mean(), backend.get_array_module(f_fake).full_like(f_fake, -1 / f_fake.shape[0])
