"""attngan.checkpoint: safe loading with one clear message per kind of bad file, metadata, load_generator."""

from __future__ import annotations

import copy
import pickle
import re
import zipfile
from pathlib import Path

import pytest
import torch

from attngan.checkpoint import (
    atomic_torch_save,
    attngan_entry,
    load_generator,
    run_metadata,
    safe_load_checkpoint,
)
from attngan.errors import CheckpointError
from attngan.hub.pretrained import network_spec
from attngan.models import Generator

NOT_A_CHECKPOINT = (
    "is not a checkpoint file (expected a file written by attngan-train or attngan-import-original)"
)


def _message(path: Path) -> str:
    with pytest.raises(CheckpointError) as info:
        safe_load_checkpoint(path)
    message = str(info.value)
    assert "weights_only" not in message and "trust" not in message  # never a hint towards unsafe loading
    return message


def test_a_good_checkpoint_loads(tmp_path: Path) -> None:
    path = tmp_path / "good.ckpt"
    atomic_torch_save({"state_dict": {"w": torch.ones(2)}, "attngan": {"kind": "damsm"}}, path)
    assert torch.equal(safe_load_checkpoint(path)["state_dict"]["w"], torch.ones(2))


def test_missing_file(tmp_path: Path) -> None:
    assert "does not exist" in _message(tmp_path / "absent.ckpt")


def test_a_directory_is_named_as_such(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    assert _message(run) == f"'{run}' is a directory, not a checkpoint file (pass the .ckpt file inside it)"
    atomic_torch_save({"a": 1}, run / "checkpoints" / "last.ckpt")
    message = _message(run)
    assert message.startswith(f"'{run}' is a directory, not a checkpoint file (pass the .ckpt file inside it")
    assert str(run / "checkpoints" / "last.ckpt") in message


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.ckpt"
    path.write_bytes(b"")
    assert "is empty (0 bytes)" in _message(path)


def test_a_text_file_is_not_a_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "notes.ckpt"
    path.write_text("a large red circle on the left\n")
    assert _message(path) == f"'{path}' {NOT_A_CHECKPOINT}."


@pytest.mark.parametrize("plain", [True, False])
def test_a_pickle_is_not_a_checkpoint(tmp_path: Path, plain: bool) -> None:
    path = tmp_path / "data.pkl"
    with path.open("wb") as handle:
        pickle.dump({"captions": ["a"]} if plain else {"hook": copy.copy}, handle)
    assert _message(path).startswith(f"'{path}' {NOT_A_CHECKPOINT}")


def test_a_torch_file_of_code_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "evil.ckpt"
    torch.save({"state_dict": {}, "hook": copy.copy}, path)
    message = _message(path)
    assert message.startswith(f"'{path}' {NOT_A_CHECKPOINT}: ")
    assert "copy.copy" in message and "not plain data" in message


def test_a_zip_of_other_files_is_not_a_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "images.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("images/a.txt", "hello")
    assert _message(path).startswith(f"'{path}' {NOT_A_CHECKPOINT}")


def test_a_non_dict_is_not_a_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "list.ckpt"
    torch.save([torch.ones(1)], path)
    assert _message(path) == f"'{path}' {NOT_A_CHECKPOINT}: it holds a list, not a dict."


@pytest.mark.parametrize("zip_format", [True, False])
@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.9])
def test_truncated_checkpoints_are_called_truncated(
    tmp_path: Path, zip_format: bool, fraction: float
) -> None:
    full = tmp_path / "full.ckpt"
    obj = {"state_dict": {"w": torch.arange(2000.0)}, "attngan": {"kind": "attngan", "vocab": ["<pad>", "a"]}}
    torch.save(obj, full, _use_new_zipfile_serialization=zip_format)
    data = full.read_bytes()
    cut = tmp_path / "cut.ckpt"
    cut.write_bytes(data[: int(len(data) * fraction)])
    message = _message(cut)
    assert message.startswith(f"checkpoint '{cut}' cannot be read") and "truncated or corrupt" in message
    assert NOT_A_CHECKPOINT not in message


# ------------------------------------------------------------------------------------------ metadata
def test_run_metadata_keys_are_the_checkpoint_format() -> None:
    meta = run_metadata("attngan", {"seed": 1}, ["<pad>", "red"])
    assert set(meta) == {"kind", "version", "torch_version", "git", "config", "vocab"}
    assert meta["kind"] == "attngan" and meta["vocab"] == ["<pad>", "red"] and meta["config"] == {"seed": 1}
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", meta["version"])


# ------------------------------------------------------------------------------------------ load_generator
def _generator_checkpoint(path: Path, with_ema: bool = True) -> tuple[Generator, Generator]:
    torch.manual_seed(0)
    live = Generator(2, 4, embedding_dim=8, z_dim=6, condition_dim=5, base_size=16)
    ema = copy.deepcopy(live)
    with torch.no_grad():
        for p in ema.parameters():
            p.add_(1.0)
    state = {f"generator.{k}": v for k, v in live.state_dict().items()}
    if with_ema:
        state.update({f"generator_ema.{k}": v for k, v in ema.state_dict().items()})
    entry = run_metadata("attngan", {}, ["<pad>", "a"])
    entry["networks"] = {"generator": network_spec(live)}
    atomic_torch_save({"state_dict": state, "attngan": entry}, path)
    return live, ema


def _same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    return all(
        torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True)
    )


def test_load_generator_returns_the_ema_weights(tmp_path: Path) -> None:
    path = tmp_path / "attngan.ckpt"
    live, ema = _generator_checkpoint(path)
    generator = load_generator(path)
    assert isinstance(generator, Generator) and not generator.training
    assert not any(p.requires_grad for p in generator.parameters())
    assert _same_weights(generator, ema) and not _same_weights(generator, live)
    assert _same_weights(load_generator(path, ema=False), live)


def test_load_generator_without_ema_weights_uses_the_live_ones(tmp_path: Path) -> None:
    path = tmp_path / "old.ckpt"
    live, _ = _generator_checkpoint(path, with_ema=False)
    assert _same_weights(load_generator(path), live)


def test_load_generator_errors_name_the_file(tmp_path: Path) -> None:
    damsm = tmp_path / "damsm.ckpt"
    atomic_torch_save({"state_dict": {}, "attngan": run_metadata("damsm", {}, ["<pad>"])}, damsm)
    with pytest.raises(CheckpointError, match=r"damsm\.ckpt' is a 'damsm' checkpoint, expected a 'attngan'"):
        load_generator(damsm)
    path = tmp_path / "attngan.ckpt"
    _generator_checkpoint(path)
    checkpoint = safe_load_checkpoint(path)
    checkpoint["attngan"]["networks"]["generator"]["ngf"] = 8
    atomic_torch_save(checkpoint, path)
    with pytest.raises(CheckpointError, match=r"weights in '.*attngan\.ckpt' do not fit"):
        load_generator(path)
    with pytest.raises(CheckpointError, match="no 'attngan' entry"):
        attngan_entry({"state_dict": {}}, path)
