"""Training: one optimisation step per algorithm (trainers), and the loop that drives them.

* :mod:`.loop` — ``fit``: epochs, progress, evaluation hooks, NaN and divergence checks, resumable checkpoints;
* :mod:`.trainers` — AEVB, Wake-Sleep, IWAE and RWS on the Gaussian Helmholtz machine;
* :mod:`.binary_trainers` — Wake-Sleep, RWS and the score-function estimator on binary latents;
* :mod:`.gan_trainers` — the GAN games and the three-player game;
* :mod:`.threads` — BLAS threads per problem size; :mod:`.progress` — progress bars.
"""
