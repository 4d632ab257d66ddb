"""Atomic writes: no half files, no temporaries left by killed writers, ordinary permissions."""
import os
import stat
import subprocess
import sys

import pytest

from nprob import checkpoint


def test_temporaries_of_a_killed_writer_are_removed_by_the_next_write(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    pid = int(dead.stdout)                            # a process that has exited
    stale = tmp_path / f".metrics.json.tmp-{pid}-abc123"
    stale.write_bytes(b"x" * 1000)
    live = tmp_path / f".metrics.json.tmp-{os.getppid()}-def456"   # a writer that still runs
    live.write_bytes(b"y")
    checkpoint.write_json(tmp_path / "metrics.json", {"a": 1})
    assert not stale.exists() and live.exists()
    assert checkpoint.read_json_object(tmp_path / "metrics.json") == {"a": 1}


def test_written_files_get_the_permissions_of_an_ordinary_open(tmp_path):
    checkpoint.write_text(tmp_path / "report.md", "hello\n")
    (tmp_path / "plain.txt").write_text("hello\n")
    mode = lambda p: stat.S_IMODE(p.stat().st_mode)  # noqa: E731
    assert mode(tmp_path / "report.md") == mode(tmp_path / "plain.txt")


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "summary.json"
    checkpoint.write_json(path, {"old": True})

    def half(f):
        f.write("{\"new\": ")
        raise OSError(28, "No space left on device")
    with pytest.raises(OSError):
        checkpoint.atomic_write(path, half, mode="w")
    assert checkpoint.read_json_object(path) == {"old": True}
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]


@pytest.mark.parametrize("text,match", [("{not json", "not valid JSON"), ("[1, 2]", "JSON list, not an object")])
def test_metrics_that_are_not_a_json_object_are_named(tmp_path, text, match):
    (tmp_path / "metrics.json").write_text(text)
    with pytest.raises(checkpoint.CheckpointError, match=match):
        checkpoint.read_json_object(tmp_path / "metrics.json")


def test_an_unwritable_results_folder_is_found_before_any_work(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(checkpoint.CheckpointError, match="cannot write to the results folder"):
        checkpoint.ensure_writable(tmp_path / "file")
    with pytest.raises(checkpoint.CheckpointError, match="cannot write to the results folder"):
        checkpoint.ensure_writable(tmp_path / "file" / "below")
