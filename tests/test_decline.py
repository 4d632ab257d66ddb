"""Where a falling bound comes from (derivations/10 result 10.9, page 4): the rules and the report's
sentences, on histories built to make a wrong rule print a false sentence."""
import pytest

from nprob.assignment.bound_decline import bound_decline, truth_decline
from nprob.assignment import report_text as report_text
from nprob.assignment import ground_truth_report as report_truth


def bound_history(test, train):
    """Peak at epoch 20, then the given changes of the test and training bounds by epoch 30."""
    return {"evals": [{"epoch": 10, "L100_test": -150, "L100_train": -149},
                      {"epoch": 20, "L100_test": -148, "L100_train": -147},
                      {"epoch": 30, "L100_test": -148 + test, "L100_train": -147 + train}]}


@pytest.mark.parametrize("test, train, parts, says, never", [
    # the review's counterexamples: a 0.15-nat move of the generalisation gap is not overfitting
    (-1.10, -0.95, [], "not assigned", ["overfit", "as well or better"]),
    (-6.0, -1.5, ["overfitting", "training"], "Both apply", ["not overfitting"]),
    # mirror images and the plain cases
    (-1.5, +0.5, ["overfitting"], "which is overfitting", ["not overfitting", "Both"]),
    (-3.0, -3.2, ["training"], "so it is not overfitting", ["which is overfitting", "Both"]),
    (-1.2, -2.5, ["training"], "so it is not overfitting", ["which is overfitting"]),
    (-1.5, -0.3, ["overfitting"], "which is overfitting", ["not overfitting"]),
])
def test_bound_decline_decides_overfitting_from_the_generalisation_gap(test, train, parts, says, never):
    d = bound_decline(bound_history(test, train), 100)
    assert sorted(d["parts"]) == sorted(parts)
    assert d["changes"]["generalisation_gap"] == pytest.approx(train - test)
    sentence = report_text.decline_text("aevb", d, 100)
    assert says in sentence
    for phrase in never:
        assert phrase not in sentence
    assert f"{-test:.2f}" in sentence


def test_bound_decline_without_training_bounds_separates_nothing():
    history = {"evals": [{"epoch": 10, "L100_test": -150}, {"epoch": 20, "L100_test": -155}]}
    d = bound_decline(history, 100)
    assert d["parts"] == [] and "not separated" in report_text.decline_text("aevb", d, 100)
    assert bound_decline({"evals": history["evals"][:1]}, 100) is None


def truth_history(logpx_test, gap_test, logpx_train, gap_train):
    """Tracked log p(x) and gaps: flat to a peak at epoch 20, then the given changes by epoch 30."""
    start = {"logpx_test": -140.0, "gap_test": 5.0, "logpx_train": -139.0, "gap_train": 5.0}
    rows = [dict(start, epoch=10), dict(start, epoch=20, logpx_test=-139.0, logpx_train=-138.0)]
    last = {"logpx_test": -139.0 + logpx_test, "gap_test": 5.0 + gap_test,
            "logpx_train": -138.0 + logpx_train, "gap_train": 5.0 + gap_train}
    rows.append(dict(last, epoch=30))
    return {"evals": [dict(r, L100_test=r["logpx_test"] - r["gap_test"]) for r in rows]}


@pytest.mark.parametrize("changes, parts", [
    # the review's counterexample: test log p(x) rose, training log p(x) fell, the test gap grew by 3:
    # the recognition network, and the overfitting that the tracked bounds show; never the generator
    ((+0.5, +3.0, -1.2, 0.0), ["recognition", "overfitting"]),
    # its mirror: test log p(x) fell, training log p(x) rose: the generator, and overfitting
    ((-2.0, 0.0, +0.5, 0.0), ["generator", "overfitting"]),
    ((-2.0, 0.0, -2.0, 0.0), ["generator"]),              # both fell alike: no overfitting
    ((0.0, +2.0, 0.0, +2.0), ["recognition"]),            # the gap grew on both: no overfitting
    ((-0.6, +0.6, -0.6, +0.6), []),                       # a 1.2-nat fall, no part beyond 1 nat
    ((-1.5, +1.5, -1.5, +1.5), ["generator", "recognition"]),
])
def test_truth_decline_names_only_the_parts_that_moved(changes, parts):
    d = truth_decline(truth_history(*changes), 100)
    assert sorted(d["parts"]) == sorted(parts)
    c = d["changes"]
    assert c["tracked_test"] == pytest.approx(c["logpx_test"] - c["gap_test"])      # the same images
    sentence = report_truth.decline_sentence("AEVB", d, 100, 250)
    for part, words in report_truth.CAUSES.items():
        assert (words in sentence) == (part in parts)
    assert ("not assigned" in sentence) == (not parts)
    assert ("both apply" in sentence) == (len(parts) == 2)
    assert "250 tracked test images" in sentence


def test_one_section_speaks_when_log_px_was_tracked():
    """With the ground truth present, the L_k-only guess is not printed beside it."""
    tracked = truth_history(-2.0, 0.0, -2.0, 0.0)
    for e in tracked["evals"]:
        e["L100_train"] = e["logpx_train"] - e["gap_train"]
    plain = bound_history(-3.0, -3.2)
    metrics = {"aevb": tracked, "wake_sleep": plain}
    text = report_text.convergence_text(metrics, 100)
    assert "AEVB's test bound peaked" not in text and "Wake-Sleep's test bound peaked" in text
