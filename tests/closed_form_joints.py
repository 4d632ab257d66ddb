"""Log joints whose marginal is known in closed form, for the quadrature's tests (derivations/10).

Each image is a row of parameters of p(x | z), a Gaussian mixture in z,

    p(x | z) = sum_k w_k N(z; m_k, S_k),   p(z) = N(0, I),   p(x) = sum_k w_k N(m_k; 0, S_k + I),

so posteriors of any width, shape and number of modes can be placed anywhere, and every
image's log p(x) is exact. The class has the interface of :class:`nprob.quadrature.LogJoint`.
"""
import math

import numpy as np

PER_MODE = 7   # w, m (2), precision (3: p11, p12, p22), log det of the covariance


def rows(modes) -> np.ndarray:
    """modes: per image a list of (weight, mean (2,), covariance (2, 2)) -> parameter rows (N, K * 7)."""
    k = max(len(m) for m in modes)
    out = np.zeros((len(modes), k * PER_MODE))
    for n, image in enumerate(modes):
        for j, (w, mean, cov) in enumerate(image):
            p = np.linalg.inv(cov)
            out[n, j * PER_MODE:(j + 1) * PER_MODE] = [w, *mean, p[0, 0], p[0, 1], p[1, 1],
                                                       np.linalg.slogdet(cov)[1]]
    return out


def exact_log_px(modes) -> np.ndarray:
    """log sum_k w_k N(m_k; 0, S_k + I) per image."""
    out = []
    for image in modes:
        terms = []
        for w, mean, cov in image:
            c = cov + np.eye(2)
            terms.append(math.log(w) - 0.5 * (mean @ np.linalg.solve(c, mean) + np.linalg.slogdet(c)[1])
                         - math.log(2 * math.pi))
        out.append(np.logaddexp.reduce(terms))
    return np.array(out)


def _log_likelihood(x, z):
    """x (n, K * 7), z (n, P, 2) or (P, 2) -> log sum_k w_k N(z; m_k, S_k) (n, P)."""
    z = np.broadcast_to(z, (x.shape[0],) + z.shape[-2:])
    total = np.full(z.shape[:2], -np.inf)
    for j in range(x.shape[1] // PER_MODE):
        w, m1, m2, p11, p12, p22, logdet = (x[:, j * PER_MODE + i][:, None] for i in range(PER_MODE))
        d1, d2 = z[..., 0] - m1, z[..., 1] - m2
        quad = p11 * d1 * d1 + 2 * p12 * d1 * d2 + p22 * d2 * d2
        with np.errstate(divide="ignore"):
            term = np.log(w) - 0.5 * (quad + logdet) - math.log(2 * math.pi)
        total = np.logaddexp(total, np.where(w > 0, term, -np.inf))
    return total


class MixtureJoint:
    """log p(x | z) + log N(z; 0, I) for the rows of :func:`rows`."""

    rows = None

    @staticmethod
    def points(z):
        return z, np.zeros(z.shape[0])

    def __call__(self, x, prepared):
        z = prepared[0]
        return _log_likelihood(x, z) - 0.5 * (z * z).sum(axis=1) - math.log(2 * math.pi)

    def paired(self, x, z):
        return _log_likelihood(x, z) - 0.5 * (z * z).sum(axis=2) - math.log(2 * math.pi)

    @staticmethod
    def ceiling(x):
        """log sum_k w_k / (2 pi sqrt(det S_k)), the largest the mixture density can be."""
        k = x.shape[1] // PER_MODE
        w = x[:, 0::PER_MODE][:, :k]
        logdet = x[:, PER_MODE - 1::PER_MODE][:, :k]
        with np.errstate(divide="ignore"):
            return np.logaddexp.reduce(np.log(w) - 0.5 * logdet, axis=1) - math.log(2 * math.pi)

    def scale(self, x, z):
        return np.abs(self.paired(x, z[:, None])[:, 0]) + 10.0
