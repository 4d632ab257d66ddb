"""The training loop's promises: resume equals no interruption, NaN stops cleanly, Ctrl-C keeps the checkpoint."""
import numpy as np
import pytest

from nprob import backend, checkpoint
from nprob.models.helmholtz import HelmholtzMachine
from nprob.training.loop import TrainingDiverged, fit
from nprob.training.trainers import AEVBTrainer, WakeSleepTrainer

MODEL = HelmholtzMachine(x_dim=16, z_dim=2, hidden=(8,))
X = np.random.default_rng(7).random((60, 16)).astype(np.float32)


def make(kind="aevb"):
    enc, dec = MODEL.init(np.random.default_rng(0), "he")
    if kind == "aevb":
        return AEVBTrainer(MODEL, enc, dec, lr=1e-2)
    return WakeSleepTrainer(MODEL, enc, dec, wake_lr=1e-2, sleep_lr=1e-3, sleep_samples=7)


def interrupt_during(trainer, step_number):
    """Make the trainer's ``step_number``-th step raise KeyboardInterrupt, as Ctrl-C would."""
    calls = {"n": 0}
    real_step = trainer.step

    def step(x, gen):
        calls["n"] += 1
        if calls["n"] == step_number:
            raise KeyboardInterrupt
        return real_step(x, gen)
    trainer.step = step


def run(trainer, path, epochs, **kw):
    evaluate = lambda tr, epoch: {"param_sum": float(tr.players["dec"].params.flat.sum())}  # noqa: E731
    return fit(trainer, backend.asarray(X), epochs=epochs, batch_size=10, seed=3, checkpoint_path=path, config={"c": 1},
               evaluate=evaluate, eval_every=2, verbose=False, **kw)


@pytest.mark.parametrize("kind", ["aevb", "wake_sleep"])
def test_resumed_run_equals_uninterrupted_run(kind, tmp_path, any_backend):
    straight = make(kind)
    h1 = run(straight, tmp_path / "a.npz", epochs=5)
    first = make(kind)
    interrupt_during(first, step_number=3 * 6 + 2)    # Ctrl-C in epoch 4 (6 steps an epoch) ...
    with pytest.raises(KeyboardInterrupt):
        run(first, tmp_path / "b.npz", epochs=5)
    resumed = make(kind)                              # ... a new process starts from scratch
    h2 = run(resumed, tmp_path / "b.npz", epochs=5)    # and resumes from the checkpoint of epoch 3
    host = backend.to_host
    for name in straight.players:
        np.testing.assert_array_equal(host(straight.players[name].params.flat), host(resumed.players[name].params.flat))
        np.testing.assert_array_equal(host(straight.players[name].state["v_sum"]),
                                      host(resumed.players[name].state["v_sum"]))
    strip = lambda h: [{k: v for k, v in row.items() if k != "seconds"} for row in h]  # noqa: E731
    assert strip(h1["epochs"]) == strip(h2["epochs"]) and strip(h1["evals"]) == strip(h2["evals"])
    assert [e["epoch"] for e in h2["evals"]] == [2, 4, 5]


def test_a_finished_run_is_not_trained_again(tmp_path):
    tr = make()
    run(tr, tmp_path / "c.npz", epochs=2)
    again = make()
    h = run(again, tmp_path / "c.npz", epochs=2)
    np.testing.assert_array_equal(tr.players["enc"].params.flat, again.players["enc"].params.flat)
    assert len(h["epochs"]) == 2


def test_checkpoint_of_another_configuration_is_refused(tmp_path):
    run(make(), tmp_path / "d.npz", epochs=1)
    with pytest.raises(checkpoint.CheckpointError, match="another configuration.*c: checkpoint 1, now 2"):
        fit(make(), X, epochs=2, batch_size=10, seed=3, checkpoint_path=tmp_path / "d.npz",
            config={"c": 2}, verbose=False)


def test_damaged_checkpoint_is_reported(tmp_path):
    (tmp_path / "e.npz").write_bytes(b"garbage")
    with pytest.raises(checkpoint.CheckpointError, match="not a checkpoint"):
        run(make(), tmp_path / "e.npz", epochs=1)


def test_checkpoint_missing_optimiser_state_is_refused(tmp_path):
    """A checkpoint from an optimiser that kept other moments (or an older nprob) is named, not half-loaded."""
    run(make(), tmp_path / "g.npz", epochs=1)
    arrays, meta = checkpoint.load(tmp_path / "g.npz")
    arrays["enc.opt.m"] = arrays.pop("enc.opt.m_sum")
    checkpoint.save(tmp_path / "g.npz", arrays, meta)
    with pytest.raises(checkpoint.CheckpointError, match="lacks enc.opt.m_sum"):
        run(make(), tmp_path / "g.npz", epochs=2)


def test_nan_stops_the_run_with_epoch_step_and_quantity(tmp_path):
    tr = make()
    run(tr, tmp_path / "f.npz", epochs=1)
    saved = checkpoint.load(tmp_path / "f.npz")[0]["dec.params"].copy()
    calls = {"n": 0}
    real_step = tr.step

    def poisoned(x, gen):
        calls["n"] += 1
        scalars = real_step(x, gen)
        if calls["n"] == 4:
            scalars["kl"] = scalars["kl"] * np.nan
        return scalars
    tr.step = poisoned
    with pytest.raises(TrainingDiverged, match=r"aevb epoch 2 step 4: kl became nan.*last checkpoint is kept"):
        run(tr, tmp_path / "f.npz", epochs=3)
    arrays, meta = checkpoint.load(tmp_path / "f.npz")
    assert meta["epoch"] == 1
    np.testing.assert_array_equal(arrays["dec.params"], saved)


def test_interrupt_keeps_the_last_checkpoint(tmp_path, capsys):
    tr = make()
    run(tr, tmp_path / "g.npz", epochs=2)
    interrupt_during(tr, step_number=3)
    with pytest.raises(KeyboardInterrupt):
        run(tr, tmp_path / "g.npz", epochs=4)
    assert checkpoint.load(tmp_path / "g.npz")[1]["epoch"] == 2
    assert "checkpoint after epoch 2" in capsys.readouterr().err


def test_bad_batch_size_is_refused(tmp_path):
    with pytest.raises(ValueError, match="batch size"):
        fit(make(), X, epochs=1, batch_size=100, seed=0, checkpoint_path=tmp_path / "h.npz", config={},
            verbose=False)


def test_nan_parameters_are_never_checkpointed(tmp_path):
    tr = make()
    run(tr, tmp_path / "p.npz", epochs=1)
    real_step = tr.step

    def poison_last_update(x, gen):
        scalars = real_step(x, gen)           # the loss of this step is still finite ...
        tr.players["dec"].params.flat[0] = np.nan   # ... but the update left a NaN behind
        return scalars
    tr.step = poison_last_update
    with pytest.raises(TrainingDiverged, match="end of epoch 2: a parameter of dec became nan"):
        fit(tr, X[:10], epochs=2, batch_size=10, seed=3, checkpoint_path=tmp_path / "p.npz",
            config={"c": 1}, verbose=False)
    assert checkpoint.load(tmp_path / "p.npz")[1]["epoch"] == 1


def test_finite_divergence_stops_like_a_nan(tmp_path):
    """Weights that explode but stay finite (a learning rate of 1e6) stop the run, keeping the checkpoint."""
    tr = make()
    run(tr, tmp_path / "q.npz", epochs=1)
    real_step = tr.step

    def exploding(x, gen):
        scalars = real_step(x, gen)
        tr.players["dec"].params.flat[...] *= 3          # 3^6 per epoch: far beyond 1000 times the start
        return scalars
    tr.step = exploding
    with pytest.raises(TrainingDiverged, match="end of epoch 2: (loss|parameter norm of dec) reached .* beyond 1000 times"):
        run(tr, tmp_path / "q.npz", epochs=3)
    assert checkpoint.load(tmp_path / "q.npz")[1]["epoch"] == 1


def test_a_loss_that_explodes_stops_the_run(tmp_path):
    tr = make()
    real_step = tr.step
    calls = {"n": 0}

    def exploding(x, gen):
        calls["n"] += 1
        scalars = real_step(x, gen)
        return {**scalars, "loss": scalars["loss"] * (1e6 if calls["n"] > 6 else 1)}
    tr.step = exploding
    with pytest.raises(TrainingDiverged, match="end of epoch 2: loss reached"):
        run(tr, tmp_path / "r.npz", epochs=3)


def test_fewer_epochs_than_the_checkpoint_holds_are_refused(tmp_path):
    run(make(), tmp_path / "s.npz", epochs=3)
    with pytest.raises(checkpoint.CheckpointError, match="holds 3 epochs, more than the 2 asked for"):
        run(make(), tmp_path / "s.npz", epochs=2)


@pytest.mark.parametrize("damage,match", [
    (lambda a, m: m.pop("config"), "no configuration"),
    (lambda a, m: a.update({"dec.params": a["dec.params"][:-1]}), "dec.params has shape"),
    (lambda a, m: a.update({"enc.opt.v_sum": np.float32(0.5)}), r"enc.opt.v_sum has shape \(\)"),
    (lambda a, m: a["enc.params"].fill(np.nan), "enc.params holds NaN"),
])
def test_damaged_checkpoint_contents_are_named(damage, match, tmp_path):
    run(make(), tmp_path / "t.npz", epochs=1)
    arrays, meta = checkpoint.load(tmp_path / "t.npz")
    damage(arrays, meta)
    checkpoint.save(tmp_path / "t.npz", arrays, meta)
    with pytest.raises(checkpoint.CheckpointError, match=match):
        run(make(), tmp_path / "t.npz", epochs=2)


def test_parameter_norm_guard_alone(tmp_path):
    """A player whose weights grow while its loss stays put is stopped by the norm guard."""
    from nprob.training.trainers import Player, Trainer
    from nprob import params

    class Growing(Trainer):
        name = "growing"

        def __init__(self):
            p = params.allocate({"w": (3,)})
            p.flat[:] = 1
            self.players = {"w": Player(p, lr=1.0)}

        def step(self, x, gen):
            self.players["w"].params.flat[...] *= 4
            return {"loss": x.sum() * 0 + 1.0}
    with pytest.raises(TrainingDiverged, match="epoch 1: parameter norm of w reached .* beyond 1000 times"):
        run(Growing(), tmp_path / "u.npz", epochs=2)


def test_small_steps_run_on_one_blas_thread_and_large_ones_on_the_default():
    from threadpoolctl import threadpool_info

    from nprob.training import threads
    from nprob.assignment.gans import GANConfig
    from nprob.assignment.toy_games import make_toy_trainer
    from nprob.assignment.vae_mnist import HelmholtzConfig, make_trainer
    backend.use("numpy")
    toy, mnist = make_toy_trainer(GANConfig(), "nonsaturating", 0), make_trainer(HelmholtzConfig(), "aevb")
    assert threads.blas_threads(threads.step_flops(toy, 256)) == 1
    assert threads.blas_threads(threads.step_flops(mnist, 100)) is None
    blas = lambda: [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]  # noqa: E731
    before = blas()
    with threads.limit_for(toy, 256):
        assert all(n == 1 for n in blas())
    assert blas() == before


def test_learning_rate_falls_linearly_to_its_final_fraction_and_stays():
    from nprob.training.trainers import Player
    params = MODEL.init(np.random.default_rng(0), "he")[0]
    player = Player(params, lr=0.1, decay_steps=4, final_lr_fraction=0.2)
    np.testing.assert_allclose([player.lr_at(t) for t in range(7)], [0.1, 0.08, 0.06, 0.04, 0.02, 0.02, 0.02])
    assert Player(params, lr=0.1).lr_at(10**6) == 0.1
    before = backend.to_host(params.flat).copy()
    sgd = Player(params, lr=0.1, optimizer="sgd", decay_steps=4, final_lr_fraction=0.2)
    sgd.state["t"] = 9       # past the schedule: one SGD step of size 0.02 (the velocity starts at zero)
    grads = params.zeros_like()
    grads.flat[:] = 1.0
    sgd.step(grads)
    np.testing.assert_allclose(backend.to_host(params.flat), before - 0.02, rtol=1e-6)
    for bad in ({"final_lr_fraction": 0.0}, {"final_lr_fraction": 1.5}, {"decay_steps": -1}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            Player(params, lr=0.1, **bad)
