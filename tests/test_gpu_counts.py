"""The stand-in's cost counters (issue 24): what counts as a launch and a sync, and each trainer's budget."""
import numpy as np
import pytest

from nprob import backend

pytestmark = pytest.mark.gpu

# Launches and host syncs of one training step (after the first) at the default settings, measured on the
# stand-in (python -m benchmarks.gpu_counts). No step syncs; a change that adds launches or a sync to a step
# fails here, and a change that removes launches lowers the budget.
BUDGET = {
    "aevb": (72, 0), "wake_sleep": (93, 0), "iwae_k5": (92, 0), "rws_k5": (96, 0), "iwae_k50": (92, 0),
    "rws_k50": (96, 0), "binary_wake_sleep": (132, 0), "binary_rws": (116, 0),
    "binary_score_function": (108, 0), "toy_minimax": (177, 0), "toy_nonsaturating": (178, 0),
    "toy_wgan": (466, 0), "toy_wgan_gp": (833, 0), "toy_pacgan2": (178, 0), "toy_pacgan4": (178, 0),
    "toy_bigan": (251, 0), "mnist_gan": (151, 0), "mnist_bigan": (202, 0),
    "s24_classifier": (43, 0), "s24_gan": (600, 0), "s24_bigan": (229, 0), "s24_toy_vae": (93, 0),
    "s24_toy_gan": (178, 0), "s24_gan_straight_through": (157, 0),
}


@pytest.fixture
def standin(monkeypatch):
    import warnings
    monkeypatch.setenv(backend.STANDIN_VARIABLE, "1")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", backend.StandinWarning)
        backend.use("cupy")
    if not backend.is_standin():
        pytest.skip("counts come from the stand-in")
    from nprob import cupy_standin
    return cupy_standin


def test_what_counts_as_a_launch_a_sync_and_fresh_memory(standin):
    xp = standin
    with standin.counting() as c:
        a = xp.asarray(np.ones((3, 4), np.float32))        # a host-to-device copy: one launch
        e = xp.empty((5,), np.float32)                      # allocation only
    assert (c.launches, c.syncs, c.bytes) == (1, 0, 48 + 20)
    with standin.counting() as c:
        b = a * 2 + 1                                      # two elementwise kernels
        v = b.reshape(4, 3).T[1:]                          # views
        total = (b @ b.T).sum()                            # matmul and a reduction
    assert (c.launches, c.syncs) == (4, 0)
    with standin.counting() as outer:
        float(total)                                       # the host waits
        with standin.counting() as inner:
            b[b > 1]                                       # a comparison, then a gather sized by a read-back
        e[...] = 0                                         # a fill
    assert (inner.launches, inner.syncs) == (2, 1) and (outer.launches, outer.syncs) == (3, 2)

    @standin.fuse
    def axpy(alpha, x, y):
        return alpha * x + y + x * y                       # four operations, one fused kernel
    with standin.counting() as c:
        axpy(2.0, b, b)
    assert (c.launches, c.bytes) == (1, 48) and v.shape == (2, 4)


def test_every_training_step_keeps_its_launch_and_sync_budget(standin):
    from benchmarks import gpu_counts
    over = {}
    for name, trainer in gpu_counts.trainers().items():
        c = gpu_counts.per_step(trainer, gpu_counts.batch_for(name))
        launches, syncs = BUDGET[name]
        if c["launches"] > launches or c["syncs"] > syncs:
            over[name] = f"{c['launches']} launches and {c['syncs']} syncs, budget {launches} and {syncs}"
    assert not over, over
    assert set(BUDGET) == set(gpu_counts.trainers())
    assert all(syncs == 0 for _, syncs in BUDGET.values())   # the epoch loop alone reads scalars back


def test_dynamic_binarisation_adds_no_sync_to_a_step(standin, tmp_path):
    """The loop checks the grey levels once; each batch's draw then reads nothing back: an epoch of 8
    batches syncs as often as one of 4."""
    from nprob.training.loop import fit
    from nprob.training.trainers import Trainer

    class Draws(Trainer):
        name, players = "draws", {}

        def step(self, x, rng):
            return {"loss": x.mean()}

    def syncs(rows):
        x = backend.asarray(np.full((rows, 6), 0.5, np.float32))
        with standin.counting() as c:
            fit(Draws(), x, epochs=1, batch_size=10, seed=0, checkpoint_path=tmp_path / f"{rows}.npz", config={},
                verbose=False, dynamic_binarize=True, log_every=1000)
        return c.syncs
    assert syncs(40) == syncs(80)
