"""The restricted unpickler on genuine Python-2 pickles, and on hostile ones."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from attngan.data.pickles import (
    read_class_info,
    read_filenames,
    read_release_captions,
    safe_load_pickle,
)
from attngan.errors import DataError, UnsafePickleError


def test_python2_byte_strings_and_containers(tmp_path, py2_pickle):
    path = tmp_path / "filenames.pickle"
    path.write_bytes(py2_pickle([b"002.Laysan_Albatross/Laysan_Albatross_0002_1027", b"caf\xe9"]))
    assert read_filenames(path) == ["002.Laysan_Albatross/Laysan_Albatross_0002_1027", "café"]
    nested = {1: [b"a", (2, None, True)], b"k": {b"x": -5, b"y": 70000}}
    path.write_bytes(py2_pickle(nested))
    assert safe_load_pickle(path) == {1: ["a", (2, None, True)], "k": {"x": -5, "y": 70000}}


def test_python2_numpy_class_info(tmp_path, py2_pickle):
    path = tmp_path / "class_info.pickle"
    path.write_bytes(py2_pickle(np.array([1, 1, 2, 200, 3])))
    loaded = safe_load_pickle(path)
    assert isinstance(loaded, np.ndarray) and loaded.dtype == np.int64
    assert read_class_info(path) == [1, 1, 2, 200, 3]
    # a plain list works too
    path.write_bytes(py2_pickle([4, 5]))
    assert read_class_info(path) == [4, 5]


def test_python3_pickles_of_plain_data_and_arrays(tmp_path):
    path = tmp_path / "p3.pickle"
    for protocol in (2, pickle.HIGHEST_PROTOCOL):
        path.write_bytes(pickle.dumps([np.arange(3), {"a": b"bytes"}], protocol=protocol))
        array, mapping = safe_load_pickle(path)
        assert array.tolist() == [0, 1, 2] and mapping == {"a": b"bytes"}


def test_read_release_captions(tmp_path, py2_pickle):
    ixtoword = {0: b"<end>", 1: b"bird", 2: b"red"}
    data = [[[1, 2], [2]], [[1]], ixtoword, {w: i for i, w in ixtoword.items()}]
    path = tmp_path / "captions.pickle"
    path.write_bytes(py2_pickle(data))
    train, test, ixtoword_read, wordtoix = read_release_captions(path)
    assert train == [[1, 2], [2]] and test == [[1]]
    assert ixtoword_read == {0: "<end>", 1: "bird", 2: "red"}
    assert wordtoix == {"<end>": 0, "bird": 1, "red": 2}
    path.write_bytes(py2_pickle([[1], [2]]))
    with pytest.raises(DataError, match="train_captions, test_captions, ixtoword, wordtoix"):
        read_release_captions(path)


def test_malicious_pickle_is_refused_without_running(tmp_path):
    victim = tmp_path / "pwned"
    payload = f"cos\nsystem\n(S'touch {victim}'\ntR.".encode()
    path = tmp_path / "captions.pickle"
    path.write_bytes(payload)
    with pytest.raises(UnsafePickleError) as err:
        safe_load_pickle(path)
    assert "os.system" in str(err.value) and str(path) in str(err.value)
    assert not victim.exists()
    # the same through the public reader the datasets use
    with pytest.raises(UnsafePickleError):
        read_release_captions(path)
    assert not victim.exists()


@pytest.mark.parametrize(
    "payload",
    [
        b"cbuiltins\neval\n(S'1+1'\ntR.",
        b"c__builtin__\neval\n(S'1+1'\ntR.",
        b"ccopy_reg\n_reconstructor\n(c__builtin__\nobject\nc__builtin__\nobject\nNtR.",
        b"cnumpy\nload\n(S'x'\ntR.",
    ],
)
def test_other_globals_are_refused(tmp_path, payload):
    path = tmp_path / "x.pickle"
    path.write_bytes(payload)
    with pytest.raises(UnsafePickleError, match="refused"):
        safe_load_pickle(path)


def test_object_arrays_and_damaged_files(tmp_path):
    path = tmp_path / "objects.pickle"
    path.write_bytes(pickle.dumps(np.array([1, "a"], dtype=object), protocol=2))
    with pytest.raises(UnsafePickleError):
        safe_load_pickle(path)
    path.write_bytes(pickle.dumps(list(range(100)), protocol=2)[:20])
    with pytest.raises(DataError, match="truncated or damaged"):
        safe_load_pickle(path)
    with pytest.raises(DataError, match="does not exist"):
        safe_load_pickle(tmp_path / "missing.pickle")
