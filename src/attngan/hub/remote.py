"""The Hugging Face Hub side of model directories: a repo id resolved to a local snapshot (honouring
``HF_HUB_OFFLINE``), and an upload. Local directories never touch the network."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

from attngan.errors import CheckpointError
from attngan.version import __version__


def resolve_pretrained(
    path_or_repo_id: str | os.PathLike[str],
    revision: str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    token: str | bool | None = None,
) -> Path:
    """A local model directory for ``path_or_repo_id``: the path itself, or a Hub snapshot.

    Local directories are always used as they are. Anything else that looks like a Hub repo id
    (``owner/name``) is fetched with ``huggingface_hub.snapshot_download`` (only ``*.json``,
    ``*.safetensors`` and ``README.md``); with ``HF_HUB_OFFLINE=1`` only the local Hub cache is read.

    Raises:
        CheckpointError: a file instead of a directory, a path that does not exist, or a repo id that cannot
            be fetched (offline, no network, unknown repository).
    """
    text = os.fspath(path_or_repo_id)
    path = Path(text).expanduser()
    if path.is_dir():
        return path
    if path.is_file():
        hint = (
            " (a training checkpoint: use AttnGANPipeline.from_checkpoint)" if path.suffix == ".ckpt" else ""
        )
        raise CheckpointError(f"'{path}' is a file{hint}; from_pretrained takes a model directory")
    if text.startswith((".", "/", "~")) or not re.fullmatch(r"[\w.-]+/[\w.-]+", text):
        raise CheckpointError(
            f"'{text}' is not a local directory (from {os.getcwd()}) nor a Hub repo id like 'owner/name'"
        )
    try:
        from huggingface_hub import snapshot_download
        from huggingface_hub.errors import LocalEntryNotFoundError, RepositoryNotFoundError
    except ImportError as err:  # pragma: no cover - a core dependency
        raise CheckpointError(f"'{text}' is not a local directory, and huggingface_hub is missing") from err
    offline = os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")
    try:
        local = snapshot_download(
            text,
            revision=revision,
            cache_dir=cache_dir,
            token=token,
            local_files_only=offline,
            allow_patterns=["*.json", "*.safetensors", "README.md"],
            library_name="attngan",
            library_version=__version__,
        )
    except RepositoryNotFoundError as err:
        raise CheckpointError(
            f"'{text}' is not a local directory, and the Hub has no model repository '{text}' you can read "
            "(check the name; for a private one log in with `hf auth login` or pass token=)"
        ) from err
    except LocalEntryNotFoundError as err:
        why = (
            "HF_HUB_OFFLINE is set and it is not in the local Hub cache (unset HF_HUB_OFFLINE, or pass a "
            "local directory)"
            if offline
            else "the Hub cannot be reached (no network?) and it is not in the local Hub cache: pass a local "
            "directory, or download it where there is network"
        )
        raise CheckpointError(f"'{text}' is not a local directory, and {why}") from err
    except Exception as err:  # network failures come as many types (OSError, HTTP errors, ...)
        raise CheckpointError(
            f"'{text}' is not a local directory, and fetching it from the Hub failed ({type(err).__name__}: "
            f"{str(err)[:200]}); pass a local directory, or check the network / HF_ENDPOINT"
        ) from err
    return Path(local)


def push_to_hub(
    save: Callable[[str], object],
    repo_id: str,
    private: bool | None = None,
    token: str | bool | None = None,
    commit_message: str = "Upload attngan model",
    revision: str | None = None,
) -> str:
    """Write a model directory to a temporary folder with ``save(folder)`` and upload it as ``repo_id``.

    A thin wrapper of ``huggingface_hub``: ``HfApi.create_repo(exist_ok=True)`` then ``upload_folder``.
    Needs network and a write token (``hf auth login`` or ``token=``).

    Returns:
        The URL of the commit.
    """
    import tempfile

    from huggingface_hub import HfApi

    api = HfApi(token=token)
    api.create_repo(repo_id, private=private, exist_ok=True, repo_type="model")
    with tempfile.TemporaryDirectory(prefix="attngan-push-") as folder:
        save(folder)
        commit = api.upload_folder(
            repo_id=repo_id, folder_path=folder, commit_message=commit_message, revision=revision
        )
    return commit.commit_url
