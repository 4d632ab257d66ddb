"""What a training step costs: the matrix products of one step, counted from the layer shapes.

Used by the benchmark (its matrix-products floor) and by section 1.4's measured answer
(derivations/04 result 4.3): floating-point operations per data point beside measured seconds.
"""
from __future__ import annotations


def gemm_shapes(cfg, algorithm: str, batch: int) -> list[tuple[int, int, int]]:
    """(M, K, N) of every matrix product in one training step (one hidden layer, as by default).

    AEVB: encoder forward (2), decoder forward (2), decoder backward (dW2, dh, dW1, dz), encoder
    backward (dW2, dh, dW1; no dx for data). Wake-Sleep: wake = encoder forward (2), decoder
    forward (2) and backward without dz (3); dream = decoder forward (2); sleep = encoder
    forward (2) and backward (3). M x K times K x N.
    """
    d, h, j, m = 784, cfg.hidden[0], cfg.z_dim, cfg.sleep_samples
    enc_fwd = [(batch, d, h), (batch, h, 2 * j)]
    dec_fwd = [(batch, j, h), (batch, h, d)]
    dec_bwd = [(h, batch, d), (batch, d, h), (j, batch, h)]
    enc_bwd = [(h, batch, 2 * j), (batch, 2 * j, h), (d, batch, h)]
    if algorithm == "aevb":
        return enc_fwd + dec_fwd + dec_bwd + [(batch, h, j)] + enc_bwd
    sleep_fwd = [(m, d, h), (m, h, 2 * j)]
    sleep_bwd = [(h, m, 2 * j), (m, 2 * j, h), (d, m, h)]
    return enc_fwd + dec_fwd + dec_bwd + [(m, j, h), (m, h, d)] + sleep_fwd + sleep_bwd


def flops_per_data_point(cfg, algorithm: str, batch: int | None = None) -> float:
    """Floating-point operations of one step's matrix products, divided by the batch (2 M K N per product)."""
    batch = batch or cfg.batch_size
    return sum(2 * m * k * n for m, k, n in gemm_shapes(cfg, algorithm, batch)) / batch


FLOATS_PER_PIXEL, FLOATS_PER_HIDDEN_UNIT, FLOATS_PER_PARAMETER = 5, 2, 1


def parameter_count(cfg) -> int:
    """Weights and biases of the encoder 784-hidden-2J and the decoder J-reversed(hidden)-784."""
    enc = [784, *cfg.hidden, 2 * cfg.z_dim]
    dec = [cfg.z_dim, *reversed(cfg.hidden), 784]
    return sum((a + 1) * b for sizes in (enc, dec) for a, b in zip(sizes, sizes[1:]))


def iw_step_bytes(cfg, k: int, batch: int | None = None, itemsize: int = 4) -> int:
    """Peak memory of one IWAE or RWS step with k samples per image, from its largest arrays.

    Each of the k x batch sampled rows holds about 5 floats per pixel (logits, the decoder's output,
    the likelihood's gradient and temporaries of the same shape) and 2 per hidden unit; the gradients
    add one float per parameter (Adam updates in place). tests/test_iw_part.py checks
    that this covers the peak tracemalloc measures, and by no more than a factor 2.
    """
    batch = batch or cfg.batch_size
    per_row = FLOATS_PER_PIXEL * 784 + FLOATS_PER_HIDDEN_UNIT * sum(cfg.hidden)
    return (k * batch * per_row + FLOATS_PER_PARAMETER * parameter_count(cfg)) * itemsize
