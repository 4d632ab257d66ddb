"""A VAE for continuous low-dimensional data: Gaussian q(z|x) as in the Helmholtz machine and a Gaussian
decoder p(x|z) = N(x; m(z), diag(exp(s(z)))), trained by AEVB; derivations/14 results 14.9-14.10.

For a batch x (N, D) and noise eps (L, N, J):

    loss = (1/N) sum_i [ KL(q(z|x_i) || p(z)) - (1/L) sum_l log N(x_i; m(z_il), exp(s(z_il))) ]   (14.9)

with z_il = mu_i + exp(logvar_i / 2) eps_li. The only change from the Bernoulli decoder of page 3 is the
likelihood and its gradient (page 2's eq. 2.9). With 2-D codes, p(x) is a sum over a lattice of codes (14.10).
"""
from __future__ import annotations

from dataclasses import dataclass

from .. import backend, validate
from .. import distributions as D
from ..bounds import midpoint_codes
from ..nn import MLP
from ..stable import logsumexp
from .helmholtz import HelmholtzMachine


@dataclass(frozen=True)
class GaussianVAE(HelmholtzMachine):
    """Shapes: x_dim-hidden..-2*z_dim for q, z_dim-..hidden-2*x_dim (mean, log-variance) for p."""

    x_dim: int = 2
    hidden: tuple[int, ...] = (64, 64)

    @property
    def decoder(self) -> MLP:
        return MLP("dec", (self.z_dim, *reversed(self.hidden), 2 * self.x_dim), hidden=self.activation)

    def decode(self, dec, z):
        """z: (..., z_dim) -> mean and log-variance of p(x|z), each (..., x_dim), and the cache."""
        lead = z.shape[:-1]
        out, cache = self.decoder.forward(dec, z.reshape(-1, self.z_dim))
        out = out.reshape(*lead, 2 * self.x_dim)
        return out[..., :self.x_dim], out[..., self.x_dim:], (lead, cache)

    def decode_backward(self, dmean, dlogvar, cache, grads):
        """Write dLoss/d(dec params) into ``grads``; return dLoss/dz (..., z_dim)."""
        lead, net_cache = cache
        xp = backend.get_array_module(dmean)
        dout = xp.concatenate([dmean, dlogvar], axis=-1).reshape(-1, 2 * self.x_dim)
        return self.decoder.backward(dout, net_cache, grads, accumulate=False).reshape(*lead, self.z_dim)

    def loss_and_grads(self, enc, dec, x, eps):
        """Eq. (14.9) and its gradients with the noise ``eps`` (L, N, J) or (N, J) held fixed.

        Returns ({'loss', 'kl', 'recon'}, (grad_enc, grad_dec)); the scalars stay on the device."""
        validate.batch(x, enc.flat.dtype, "x")
        eps = validate.noise(validate.float_array(eps, enc.flat.dtype, "eps"), x.shape[0], self.z_dim)
        L, N = eps.shape[0], x.shape[0]
        mu, logvar, enc_cache = self.encode(enc, x)
        z, std = D.gaussian_sample(mu, logvar, eps)                          # eq. (3.4)
        mean, log_var_x, dec_cache = self.decode(dec, z)                     # (L, N, D) each
        log_px = D.gaussian_log_density(x, mean, log_var_x)                  # (L, N), the likelihood of (14.9)
        kl = D.kl_to_standard_normal(mu, logvar)                             # (N,), eq. (3.3)

        g_enc, g_dec = enc.empty_like(), dec.empty_like()
        scale = x.dtype.type(-1.0 / (L * N))                                 # d loss / d log p(x|z)
        _, dmean, dlog_var_x = D.gaussian_log_density_grads(x, mean, log_var_x)   # eq. (2.9)
        dz = self.decode_backward(dmean * scale, dlog_var_x * scale, dec_cache, g_dec)
        dmu, dlogvar = D.gaussian_sample_backward(dz, std, eps)              # eq. (3.7)-(3.9)
        dkl_mu, dkl_logvar = D.kl_to_standard_normal_grads(mu, logvar)
        inv_n = x.dtype.type(1.0 / N)
        self.encode_backward(dmu + dkl_mu * inv_n, dlogvar + dkl_logvar * inv_n, enc_cache, g_enc)
        recon, kl_mean = -log_px.mean(), kl.mean()
        return {"loss": recon + kl_mean, "kl": kl_mean, "recon": recon}, (g_enc, g_dec)

    def log_density(self, dec, x, limit: float = 5.0, n: int = 201, chunk: int = 128):
        """log p(x) = log sum_j p(z_j) h^2 N(x; m(z_j), exp(s(z_j))) over the n x n midpoints z_j of
        [-limit, limit]^2 with step h, eq. (14.10). For z_dim = 2; x: (N, x_dim) -> (N,)."""
        if self.z_dim != 2:
            raise ValueError("log_density sums over a 2-D lattice of codes only")
        validate.batch(x, dec.flat.dtype, "x")
        xp = backend.get_array_module(x)
        z, log_prior = midpoint_codes(limit, n, xp, x.dtype)                # (G, 2), (G,)
        mean, log_var_x, _ = self.decode(dec, z)                             # (G, x_dim)
        parts = [logsumexp(D.gaussian_log_density(x[i:i + chunk, None, :], mean[None], log_var_x[None])
                           + log_prior[None, :], axis=1) for i in range(0, x.shape[0], chunk)]
        return xp.concatenate(parts)
