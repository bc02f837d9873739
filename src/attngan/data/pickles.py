"""Reading the authors' pickles (untrusted input) without ever running code from them.

The released ``captions.pickle``, ``filenames.pickle`` and ``class_info.pickle`` were written by Python 2:
strings are byte strings and ``class_info`` may hold a numpy integer array. :func:`safe_load_pickle` reads
them with a restricted unpickler that admits plain containers, numbers and strings, plus the few numpy
globals that rebuild a numeric array (each checked to build nothing else); any other global (``os.system``, ``builtins.eval``, a class) is refused
*before* it is called, with :class:`~attngan.errors.UnsafePickleError`.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np

from attngan.errors import DataError, UnsafePickleError

try:  # numpy >= 2 moved the reconstruction helper; old pickles still name numpy.core
    from numpy._core.multiarray import _reconstruct as _np_reconstruct
except ImportError:  # pragma: no cover - numpy 1.x
    from numpy.core.multiarray import _reconstruct as _np_reconstruct  # type: ignore[no-redef]

_NUMERIC_KINDS = frozenset("biuf")  # bool, signed, unsigned, float


def _reconstruct(cls: Any, shape: Any, typecode: Any) -> np.ndarray:
    if cls is not np.ndarray:
        raise UnsafePickleError(f"numpy _reconstruct may only build numpy.ndarray, not {cls!r}")
    return _np_reconstruct(cls, shape, typecode)


def _dtype(spec: Any, align: Any = False, copy: Any = False) -> np.dtype:
    if isinstance(spec, bytes):
        spec = spec.decode("latin-1")
    if not isinstance(spec, str):
        raise UnsafePickleError(f"numpy dtype spec must be a string, not {type(spec).__name__}")
    dtype = np.dtype(spec, align=bool(align), copy=bool(copy))
    if dtype.kind not in _NUMERIC_KINDS:
        raise UnsafePickleError(f"numpy dtype {spec!r} is not a plain numeric type")
    return dtype


def _frombuffer(buffer: Any, dtype: Any, shape: Any, order: Any) -> np.ndarray:
    # numpy >= 1.16 pickles arrays this way with protocol 5
    if not isinstance(dtype, np.dtype) or dtype.kind not in _NUMERIC_KINDS:
        raise UnsafePickleError(f"numpy _frombuffer with dtype {dtype!r} is not a plain numeric array")
    return np.frombuffer(buffer, dtype=dtype).reshape(shape, order=order).copy()


def _codecs_encode(text: str, encoding: str = "utf-8", errors: str = "strict") -> bytes:
    # Python 3 writes bytes as _codecs.encode(str, 'latin1') in protocol-2 pickles (e.g. numpy raw data).
    if encoding.lower().replace("-", "").replace("_", "") not in ("latin1", "iso88591"):
        raise UnsafePickleError(f"_codecs.encode with encoding {encoding!r} is not allowed")
    return text.encode("latin-1", errors)


_ALLOWED: dict[tuple[str, str], Any] = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): _dtype,
    ("numpy.core.numeric", "_frombuffer"): _frombuffer,
    ("numpy._core.numeric", "_frombuffer"): _frombuffer,
    ("_codecs", "encode"): _codecs_encode,
}


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED:
            raise UnsafePickleError(f"it asks to load '{module}.{name}', which is not plain data")
        return _ALLOWED[module, name]

    def persistent_load(self, pid: Any) -> Any:
        raise UnsafePickleError(f"it uses a persistent id ({pid!r})")


def _check_plain(obj: Any, depth: int = 0) -> None:
    if depth > 64:
        raise UnsafePickleError("it is nested more than 64 levels deep")
    if isinstance(obj, np.ndarray) and obj.dtype.kind not in _NUMERIC_KINDS:
        raise UnsafePickleError(f"it holds a numpy array of dtype {obj.dtype}")
    if isinstance(obj, dict):
        obj = [*obj.keys(), *obj.values()]
    if isinstance(obj, (list, tuple, set, frozenset)):
        for item in obj:
            _check_plain(item, depth + 1)


def safe_load_pickle(path: str | Path) -> Any:
    """Load a pickle that may come from anywhere, admitting plain data only.

    Python-2 byte strings are decoded as latin-1 (so they arrive as ``str``); numpy integer or float arrays
    are rebuilt; nothing else can be constructed.

    Raises:
        UnsafePickleError: the pickle asks for any other global (the global is named, never called).
        DataError: the file is missing, truncated or not a pickle.
    """
    path = Path(path)
    try:
        with path.open("rb") as handle:
            obj = _RestrictedUnpickler(handle, encoding="latin1").load()
        _check_plain(obj)
    except UnsafePickleError as err:
        raise UnsafePickleError(
            f"{path}: {err}; refused without running it. The authors' pickles only hold lists, dicts, strings, "
            "numbers and numeric numpy arrays: replace the file with the original from the dataset download."
        ) from None
    except FileNotFoundError:
        raise DataError(f"Pickle file {path} does not exist.") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, IndexError, KeyError, OSError) as err:
        raise DataError(
            f"{path} is not a readable pickle ({type(err).__name__}: {err}). The file is truncated or damaged; "
            "replace it with the one from the dataset download."
        ) from None
    return obj


def _as_text(value: Any) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else str(value)


def read_filenames(path: str | Path) -> list[str]:
    """Read a ``{train,test}/filenames.pickle``: the image keys of a split, as ``str``.

    Raises:
        DataError: the pickle does not hold a list of strings.
    """
    keys = safe_load_pickle(path)
    if not isinstance(keys, (list, tuple)) or not all(isinstance(k, (str, bytes)) for k in keys):
        raise DataError(f"{path} should hold a list of image keys (strings); found {type(keys).__name__}.")
    return [_as_text(k) for k in keys]


def read_class_info(path: str | Path) -> list[int]:
    """Read a ``{train,test}/class_info.pickle``: one integer class id per image of the split.

    Raises:
        DataError: the pickle does not hold a flat sequence of integers.
    """
    data = safe_load_pickle(path)
    try:
        values = np.asarray(data)
        if values.ndim != 1 or values.dtype.kind not in "iu":
            raise ValueError
    except (ValueError, TypeError):
        raise DataError(f"{path} should hold a flat list or array of integer class ids.") from None
    return [int(v) for v in values]


def read_release_captions(
    path: str | Path,
) -> tuple[list[list[int]], list[list[int]], dict[int, str], dict[str, int]]:
    """Read an authors' ``captions.pickle``.

    Args:
        path: the file, holding ``[train_captions, test_captions, ixtoword, wordtoix]``.

    Returns:
        ``(train_captions, test_captions, ixtoword, wordtoix)``: captions as lists of word ids (one list per
        caption, ``captions_per_image`` consecutive captions per image), and the two vocabulary mappings with
        ``str`` words (id 0 is ``'<end>'``, the padding).

    Raises:
        DataError: the file is not shaped like the release's.
        UnsafePickleError: the file asks for anything but plain data.
    """
    data = safe_load_pickle(path)
    if not isinstance(data, (list, tuple)) or len(data) != 4:
        raise DataError(
            f"{path} should hold [train_captions, test_captions, ixtoword, wordtoix]; found "
            f"{type(data).__name__} of length {len(data) if hasattr(data, '__len__') else '?'}."
        )
    train, test, ixtoword, wordtoix = data
    if not isinstance(ixtoword, dict) or not isinstance(wordtoix, dict):
        raise DataError(f"{path}: ixtoword and wordtoix (items 3 and 4) should be dicts.")

    def captions(value: Any, name: str) -> list[list[int]]:
        try:
            return [[int(i) for i in caption] for caption in value]
        except (TypeError, ValueError):
            raise DataError(
                f"{path}: {name} should be a list of captions, each a list of word ids."
            ) from None

    return (
        captions(train, "train_captions"),
        captions(test, "test_captions"),
        {int(i): _as_text(w) for i, w in ixtoword.items()},
        {_as_text(w): int(i) for w, i in wordtoix.items()},
    )
