"""The results folder: one run at a time, parts merged, nothing left by a refused run (issue 22 items 4, 17-19)."""
import json
import os

import matplotlib.pyplot as plt
import pytest

from nprob.assignment import cli, results_folder
from nprob.checkpoint import CheckpointError
from nprob.assignment import vae_mnist
from nprob.assignment import plots


def snapshot(folder):
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_second_run_on_a_held_folder_is_refused_naming_the_first(tmp_path, capsys):
    out = tmp_path / "r"
    with results_folder.claimed(out):
        results_folder.merge(out, {"iw": {"runs": 1}})
        before = snapshot(out)
        with pytest.raises(results_folder.FolderBusy, match=f"pid {os.getpid()}"):
            with results_folder.claimed(out):
                pass
        assert cli.main(["--quick", "--quiet", "--out", str(out), "--parts", "section14"]) == 1
        assert "in use by another nprob run" in capsys.readouterr().err
        assert snapshot(out) == before
    assert not (out / results_folder.LOCK_NAME).exists()   # a run leaves no trace of its lock
    with results_folder.claimed(out):                      # released when the first run ends
        pass


def test_parts_merge_their_keys_into_the_file_as_it_is_now(tmp_path):
    results_folder.merge(tmp_path, {"iw": {"runs": {"iwae_k5": 1}}})
    started = results_folder.read_metrics(tmp_path)            # a part read the file at its start ...
    results_folder.merge(tmp_path, {"section14": {"runs": 2}})   # ... another part wrote since ...
    started["gan"] = 3
    results_folder.merge(tmp_path, {"gan": started["gan"]})      # ... and the first part's write keeps it
    assert json.loads((tmp_path / "metrics.json").read_text()) == {
        "iw": {"runs": {"iwae_k5": 1}}, "section14": {"runs": 2}, "gan": 3}


@pytest.mark.parametrize("failure", [CheckpointError("refused"), KeyboardInterrupt()])
def test_a_run_that_fails_before_writing_leaves_no_folder_and_says_what_happened(tmp_path, monkeypatch, capsys,
                                                                                failure):
    def fails(*args, **kwargs):
        (tmp_path / "new" / "checkpoints").mkdir(parents=True)   # an empty folder made on the way is removed too
        raise failure
    monkeypatch.setattr(vae_mnist, "check_checkpoints", fails)
    code = cli.main(["--quick", "--quiet", "--out", str(tmp_path / "new"), "--parts", "helmholtz"])
    err = capsys.readouterr().err
    assert not (tmp_path / "new").exists()
    if isinstance(failure, KeyboardInterrupt):   # outside any training loop: still the usual message
        assert code == 130 and "interrupted" in err and "run the same command again to resume" in err.lower()
    else:
        assert code == 1 and "refused" in err
    (tmp_path / "old").mkdir()                   # a folder the user made is never removed
    cli.main(["--quick", "--quiet", "--out", str(tmp_path / "old"), "--parts", "helmholtz"])
    assert (tmp_path / "old").is_dir()


def test_a_figure_is_written_whole_or_not_at_all_and_a_failure_names_it(tmp_path, monkeypatch):
    fig, ax = plt.subplots()
    ax.plot([0, 1])
    target = tmp_path / "figures" / "f.png"
    plots._save(fig, target)
    before = target.read_bytes()

    def half_then_full_disk(self, f, **kwargs):
        f.write(b"\x89PNG half")
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(type(fig), "savefig", half_then_full_disk)
    fig, _ = plt.subplots()
    with pytest.raises(OSError) as err:
        plots._save(fig, target)
    assert err.value.filename == str(target) and "No space" in err.value.strerror
    assert target.read_bytes() == before and os.listdir(target.parent) == ["f.png"]


def test_a_read_only_figures_folder_names_the_figure_not_a_temporary_file(tmp_path, monkeypatch):
    import tempfile

    def read_only(dir, prefix):   # what mkstemp raises in a folder without write permission
        raise PermissionError(13, "Permission denied", f"{dir}/{prefix}abc")
    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    fig, _ = plt.subplots()
    with pytest.raises(OSError) as err:
        plots._save(fig, tmp_path / "figures" / "g.png")
    assert err.value.filename == str(tmp_path / "figures" / "g.png") and "Permission denied" in err.value.strerror
