"""The same AEVB model in PyTorch (eager), timed beside nprob in one run, when PyTorch is installed.

Only the benchmark imports this, and only if ``import torch`` works; nprob itself never does.
Same shapes, loss and optimiser as nprob's default: 784-512-(2+2) ReLU encoder, 2-512-784
ReLU decoder, Bernoulli cross-entropy from logits summed over pixels, analytic KL, one
sample, Adam(lr 1e-3), batch 100, float32.
"""
from __future__ import annotations

import numpy as np


def make_aevb_step(x: np.ndarray, threads: int = 2):
    """A function ``step(i)`` doing PyTorch's AEVB step on batch i of x (N, 784), and the
    PyTorch version; or None without PyTorch."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    enc = torch.nn.Sequential(torch.nn.Linear(784, 512), torch.nn.ReLU(), torch.nn.Linear(512, 4))
    dec = torch.nn.Sequential(torch.nn.Linear(2, 512), torch.nn.ReLU(), torch.nn.Linear(512, 784))
    opt = torch.optim.Adam(list(enc.parameters()) + list(dec.parameters()), lr=1e-3)
    data = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    n = data.shape[0] // 100

    def step(i):
        xb = data[(i % n) * 100:(i % n + 1) * 100]
        mu, logvar = enc(xb).chunk(2, dim=1)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        logits = dec(z)
        recon = torch.nn.functional.binary_cross_entropy_with_logits(logits, xb, reduction="sum") / 100
        kl = -0.5 * torch.sum(1 + logvar - mu * mu - logvar.exp()) / 100
        opt.zero_grad(set_to_none=True)
        (recon + kl).backward()
        opt.step()

    return step, torch.__version__
