"""Where commands write: checked before any work, replaced only when asked, written atomically.

Every command that writes asks here first, so a location that cannot be written is one line at the start, not a
traceback after the work (docs/configuration.md#outputs):

- :func:`location_problem` / :func:`check_location`: a directory or file can be created and written there.
- :func:`check_output_file`: a single-file result (``attngan-train``'s ``export_path``) that exists is replaced
  only with ``overwrite=true``.
- :class:`OutputDirectory`: a directory of results (``attngan-generate``, ``attngan-eval``, ``attngan-export``).
  A directory holding files the command did not write is refused unless ``overwrite=true``. The results are
  written into a hidden staging folder inside it and moved into place at the end, so a failed run leaves the
  previous results as they were; the files of the previous run that the new one did not write are removed (no
  stale images beside a new ``generated.json``). A marker file (:data:`MARKER`) lists what the command wrote.
- :func:`hold_run_directory`: one training process per run directory (a lock file holding the pid).
- :func:`atomic_write_text`, :func:`atomic_path`: a file replaced in one step (temporary file + ``os.replace``).

``os.access`` decides "writable": as root a read-only directory is writable (root may write there).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from attngan.errors import OutputError

__all__ = [
    "EXPORT_RECORD",
    "LOCK_NAME",
    "MARKER",
    "OutputDirectory",
    "atomic_path",
    "atomic_write_text",
    "check_location",
    "check_output_file",
    "check_run_directory",
    "hold_run_directory",
    "location_problem",
]

MARKER = ".attngan-output.json"  # what a command wrote into its output directory
STAGING_PREFIX = ".attngan-partial-"  # results of a run still in progress (its pid follows)
LOCK_NAME = ".attngan-run.lock"  # the pid of the process training in a run directory
EXPORT_RECORD = ".attngan-exported"  # in a run directory: the export_path files that run wrote
# what Hydra, Lightning and attngan-train put in a run directory: a directory holding one is a run's
RUN_SIGNS = (".hydra", "checkpoints", LOCK_NAME, EXPORT_RECORD)


# ------------------------------------------------------------------------------------------ atomic files
@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """A temporary path beside ``path`` (same suffix, so PIL picks the format) renamed over it on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    tmp.chmod(0o644)  # mkstemp makes it 0600: results are for reading by others too
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` in one step: a kill leaves the old file or the new one, never half."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


# ---------------------------------------------------------------------------------------------- checks
def _writable(directory: Path) -> bool:
    return os.access(directory, os.W_OK | os.X_OK)


def location_problem(path: str | os.PathLike[str], directory: bool = True) -> str | None:
    """Why ``path`` cannot be created and written (as a directory, or as a file), or None when it can."""
    path = Path(path).expanduser()
    if path.exists():
        if directory and not path.is_dir():
            return "is a file, not a directory"
        if not directory and path.is_dir():
            return "is a directory, not a file"
        folder = path if path.is_dir() else path.parent
        return None if _writable(folder) else f"is not writable ({folder} does not allow writing)"
    ancestor = path.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        return f"cannot be created: {ancestor} is a file"
    if not _writable(ancestor):
        return f"cannot be created: {ancestor} is not writable"
    return None


def check_location(path: str | os.PathLike[str], key: str, directory: bool = True) -> Path:
    """``path`` if it can be created and written, else :class:`OutputError` naming ``key``."""
    problem = location_problem(path, directory)
    if problem:
        what = "directory" if directory else "file path"
        raise OutputError(f"{key}={path} {problem}: choose another {key} (a {what} you can write)")
    return Path(path)


def check_output_file(path: str | os.PathLike[str], key: str, overwrite: bool) -> Path:
    """A single-file result: writable, not a directory, and replaced only when ``overwrite`` is set."""
    path = Path(path)
    if path.is_dir():
        raise OutputError(
            f"{key}={path} is a directory, not a file: give a file path, e.g. {key}={path / 'model.ckpt'}"
        )
    check_location(path, key, directory=False)
    if path.exists() and not overwrite:
        raise OutputError(
            f"{key}={path} already exists and would be replaced: overwrite=true replaces it, or choose "
            f"another {key}"
        )
    return path


def check_run_directory(
    path: str | os.PathLike[str],
    key: str,
    overwrite: bool,
    command: str = "attngan-train",
    signs: tuple[str, ...] = RUN_SIGNS,
) -> Path:
    """A directory a command works in and resumes from (a training run, ``attngan-reproduce``'s output): writable,
    and new, empty, or holding one of ``signs`` (what the command writes there first)."""
    path = check_location(path, key)
    if path.is_dir() and not overwrite:
        entries = sorted(p.name for p in path.iterdir())
        if entries and not set(entries) & set(signs):
            raise OutputError(
                f"{key}={path} already holds files that {command} did not write ({_names(entries)}): "
                f"choose a new or empty {key}, or overwrite=true to work in it anyway"
            )
    return path


def _names(entries: list[str], limit: int = 3) -> str:
    return ", ".join(entries[:limit]) + (f" and {len(entries) - limit} more" if len(entries) > limit else "")


# ------------------------------------------------------------------------------------ output directories
def _read_marker(directory: Path) -> dict | None:
    try:
        marker = json.loads((directory / MARKER).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return marker if isinstance(marker, dict) and isinstance(marker.get("files"), list) else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


class OutputDirectory:
    """A directory of results that one command owns; checked when made, filled by :meth:`commit`.

    Write every result into :attr:`staging` (a hidden folder inside the directory); :meth:`commit` moves them
    into place (each file in one ``os.replace``), removes what the previous run of the command wrote and this
    one did not, and records the new list in :data:`MARKER`. :meth:`discard` (or leaving the ``with`` block by
    an exception) removes the staging folder and leaves the previous results untouched.

    Args:
        path: the directory (created when missing).
        key: the config key that names it, for messages (``output_dir``).
        command: the console script (``attngan-generate``); a directory written by another is not its own.
        overwrite: write into a directory that holds files the command did not write (same names are replaced,
            the others stay).

    Raises:
        OutputError: ``path`` is a file, cannot be written, or holds files of others and ``overwrite`` is off.
    """

    def __init__(self, path: str | os.PathLike[str], key: str, command: str, overwrite: bool = False) -> None:
        self.path, self.key, self.command = Path(path), key, command
        check_location(self.path, key)
        marker = _read_marker(self.path) if self.path.is_dir() else None
        self.previous: list[str] = []
        if marker is not None and marker.get("command") == command:
            self.previous = [str(name) for name in marker["files"]]
        elif self.path.is_dir() and not overwrite:
            entries = sorted(p.name for p in self.path.iterdir() if not p.name.startswith(STAGING_PREFIX))
            if entries:
                owner = (
                    f"the output of {marker['command']}" if marker else f"files that {command} did not write"
                )
                raise OutputError(
                    f"{key}={self.path} already holds {owner} ({_names(entries)}): choose a new or empty "
                    f"{key}, or overwrite=true to write into it (files of the same name are replaced, the "
                    "others stay)"
                )
        self._created = not self.path.exists()
        self.staging = self.path / f"{STAGING_PREFIX}{os.getpid()}"

    def __enter__(self) -> OutputDirectory:
        self.path.mkdir(parents=True, exist_ok=True)
        for leftover in self.path.glob(f"{STAGING_PREFIX}*"):  # of a killed run
            pid = leftover.name[len(STAGING_PREFIX) :]
            if not (pid.isdigit() and int(pid) != os.getpid() and _alive(int(pid))):
                shutil.rmtree(leftover, ignore_errors=True)
        self.staging.mkdir()
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        if kind is None:
            self.commit()
        else:
            self.discard()

    def final(self, name: str) -> Path:
        """Where ``name`` (a file of :attr:`staging`) will be once committed."""
        return self.path / name

    def commit(self) -> list[str]:
        """Move the staged results into place, remove the previous run's other files; returns the names."""
        names = sorted(os.listdir(self.staging))
        for name in names:
            target = self.path / name
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            os.replace(self.staging / name, target)
        for name in set(self.previous) - set(names):
            if name and "/" not in name and name not in (".", "..", MARKER):
                _remove(self.path / name)
        record = {
            "command": self.command,
            "files": names,
            "written": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        atomic_write_text(self.path / MARKER, json.dumps(record, indent=1) + "\n")
        shutil.rmtree(self.staging, ignore_errors=True)
        return names

    def discard(self) -> None:
        """Remove the staged results; the directory keeps what it held (and goes if this run made it empty)."""
        shutil.rmtree(self.staging, ignore_errors=True)
        if self._created:
            with contextlib.suppress(OSError):
                self.path.rmdir()


# ------------------------------------------------------------------------------------------ run lock
_held: dict[Path, int] = {}  # run directories this process holds, and how many holders nest


def _rank_zero() -> bool:
    """False in the extra processes of a multi-process launch (they share rank 0's run directory)."""
    for name in ("RANK", "LOCAL_RANK", "SLURM_PROCID", "JSM_NAMESPACE_RANK"):
        value = os.environ.get(name, "0") or "0"
        if value.isdigit() and int(value) != 0:
            return False
    return True


def _read_pid(lock: Path) -> int | None:
    try:
        text = lock.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return int(text) if text.isdigit() else None


def _acquire(lock: Path, key: str) -> None:
    for _ in range(3):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            holder = _read_pid(lock)
            if holder is not None and holder != os.getpid() and _alive(holder):
                raise OutputError(
                    f"{key}={lock.parent} is in use by another training run (process {holder}, lock file "
                    f"{lock}): wait for it to end or choose another {key}; if process {holder} is not "
                    "attngan-train, delete the lock file"
                ) from None
            lock.unlink(missing_ok=True)  # its holder is gone (killed): the run directory is free
            continue
        with os.fdopen(fd, "w") as handle:
            handle.write(f"{os.getpid()}\n")
        return
    raise OutputError(
        f"{key}={lock.parent}: could not take the lock file {lock}; another run is starting there"
    )


@contextlib.contextmanager
def hold_run_directory(path: str | os.PathLike[str], key: str) -> Iterator[Path]:
    """Hold ``path`` (created) for this process: a second process is refused while the block runs.

    Nested holds by the same process share one lock; ranks other than 0 of a multi-process launch hold nothing
    (they write into rank 0's directory by design).
    """
    path = Path(path).resolve()
    if not _rank_zero():
        yield path
        return
    if path not in _held:
        path.mkdir(parents=True, exist_ok=True)
        _acquire(path / LOCK_NAME, key)
    _held[path] = _held.get(path, 0) + 1
    try:
        yield path
    finally:
        _held[path] -= 1
        if not _held[path]:
            del _held[path]
            lock = path / LOCK_NAME
            if _read_pid(lock) == os.getpid():
                lock.unlink(missing_ok=True)
