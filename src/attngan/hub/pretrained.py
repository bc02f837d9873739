"""Shareable model directories: ``config.json`` + ``*.safetensors`` + ``vocab.json`` + ``README.md``, no pickle.

:func:`save_pretrained` (``AttnGANPipeline.save_pretrained``, ``attngan-export format=hf``) writes one; its files
are listed in ``docs/sharing.md``. :func:`load_components` reads such a directory back: networks are built only
from ``attngan.models`` classes (:func:`attngan.checkpoint.build_network`'s allow-list), weights only from
safetensors; every problem is one :class:`~attngan.errors.CheckpointError` naming the file and what to do.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from attngan.checkpoint import ALLOWED_TARGET_PREFIX, build_network
from attngan.errors import AttnGANError, CheckpointError
from attngan.models import Generator, TextEncoder
from attngan.text import Vocabulary
from attngan.version import __version__

FORMAT = "attngan-pretrained"
FORMAT_VERSION = 1
CONFIG_NAME = "config.json"
VOCAB_NAME = "vocab.json"
CARD_NAME = "README.md"
NETWORKS = ("text_encoder", "generator", "image_encoder")  # image_encoder is optional
EXPECTED_CLASS = {"text_encoder": TextEncoder, "generator": Generator}
REEXPORT = "re-export it with `attngan-export checkpoint=<the .ckpt> format=hf output=<dir>`"


# ------------------------------------------------------------------------------------------ writing
def network_spec(module: nn.Module) -> dict[str, Any]:
    """The constructor arguments of an ``attngan.models`` network (its ``config``), with ``_target_``.

    Every attngan.models network records the arguments it was built with in ``config``; weight-file arguments are
    cleared (the weights come from safetensors).

    Raises:
        CheckpointError: the module is not an attngan.models network.
    """
    cls = type(module)
    config = getattr(module, "config", None)
    if not cls.__module__.startswith(ALLOWED_TARGET_PREFIX) or not isinstance(config, dict):
        raise CheckpointError(
            f"cannot save a {cls.__module__}.{cls.__name__}: only {ALLOWED_TARGET_PREFIX}* networks, which record "
            "their constructor arguments in `config`, can be shared"
        )
    spec = {"_target_": f"attngan.models.{cls.__name__}", **config}
    if "weights_path" in spec:
        spec["weights_path"] = None
    if "pretrained" in spec:
        spec["pretrained"] = False  # never look for ImageNet files: the weights are in the directory
    return json.loads(json.dumps(spec, default=str))


def _run_summary(config: dict[str, Any]) -> dict[str, Any]:
    """The card's facts from the resolved config of an ``attngan-train`` run (every key is always there)."""
    data, model, trainer = config["data"], config["model"], config["trainer"]
    return {
        "experiment": config["task_name"],
        "dataset": data["name"],
        "num_images": data.get("num_images"),  # generated datasets (shapes) only
        "captions_per_image": data["captions_per_image"],
        "batch_size": data["batch_size"],
        "max_epochs": trainer["max_epochs"],
        "precision": trainer["precision"],
        "lambda_damsm": model["lambda_damsm"],
        "learning_rates": {"generator": model["lr_generator"], "discriminator": model["lr_discriminator"]},
        "seed": config["seed"],
    }


def training_summary(metadata: dict[str, Any]) -> dict[str, Any]:
    """What the model card says about training: dataset, experiment, sizes, steps, versions (from the
    checkpoint's ``"attngan"`` entry; an empty one for networks that never saw attngan-train).

    Raises:
        CheckpointError: the entry holds a training config (a ``model`` node) that lacks a key every
            ``attngan-train`` run records.
    """
    config = metadata.get("config") or {}
    summary = {
        "generator_step": metadata.get("generator_step"),
        "trained_with_attngan": metadata.get("version"),
        "git": metadata.get("git"),
        "source": metadata.get("source"),
    }
    if "model" in config:  # an attngan-train run (an imported release model has no training config)
        try:
            summary.update(_run_summary(config))
        except KeyError as err:
            raise CheckpointError(
                f"the checkpoint's training config lacks the key {err.args[0]!r}, which every attngan-train run "
                "records: it was edited or written by other code; export a checkpoint written by attngan-train"
            ) from err
    return {k: v for k, v in summary.items() if v not in (None, "")}


# local paths of the machine that trained the model: not shared
_LOCAL_KEYS = ("paths", "ckpt_path", "export_path", "init_from")
_LOCAL_NESTED = {"data": ("root", "cache_dir"), "model": ("damsm_checkpoint",)}


def shareable_config(config: dict[str, Any]) -> dict[str, Any]:
    """The resolved training config without the local paths of the machine that trained it."""
    shared = {k: v for k, v in config.items() if k not in _LOCAL_KEYS}
    for node, keys in _LOCAL_NESTED.items():
        if isinstance(shared.get(node), dict):
            shared[node] = {k: v for k, v in shared[node].items() if k not in keys}
    return shared


def _state(module: nn.Module) -> dict[str, torch.Tensor]:
    """Parameters and buffers (BatchNorm statistics included) as contiguous CPU tensors, none shared."""
    return {k: v.detach().cpu().contiguous().clone() for k, v in module.state_dict().items()}


def save_pretrained(
    directory: str | os.PathLike[str],
    text_encoder: nn.Module,
    generator: nn.Module,
    vocab: Vocabulary,
    max_words: int,
    image_encoder: nn.Module | None = None,
    metadata: dict[str, Any] | None = None,
    evaluation: dict[str, Any] | None = None,
    card: str | None = None,
) -> Path:
    """Write a shareable model directory (layout in the module docstring).

    Args:
        directory: created if missing; existing attngan files in it are replaced.
        text_encoder, generator, image_encoder: the networks (the generator is saved as given: pass the EMA one).
        vocab: their vocabulary; max_words: caption length T.
        metadata: the checkpoint's ``"attngan"`` entry (config, versions, networks) when there is one.
        evaluation: the ``metrics.json`` of the last ``attngan-eval`` of the model, for the card.
        card: a model card to write instead of the generated one.

    Returns:
        The directory.
    """
    from safetensors.torch import save_file

    from attngan.hub.model_card import render_model_card

    metadata = metadata or {}
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    modules = {"text_encoder": text_encoder, "generator": generator, "image_encoder": image_encoder}
    networks = {name: network_spec(net) for name, net in modules.items() if net is not None}
    config = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "attngan_version": __version__,
        "torch_version": str(torch.__version__),
        "networks": networks,
        "vocab_size": len(vocab),
        "max_words": int(max_words),
        "image_sizes": [int(s) for s in generator.image_sizes],
        "z_dim": int(generator.z_dim),
        "condition_dim": int(generator.condition_dim),
        "weights": {name: f"{name}.safetensors" for name in networks},
        "training": training_summary(metadata),
        "training_config": shareable_config(metadata.get("config") or {}),
    }
    for name, net in modules.items():
        if net is not None:
            info = {"format": "pt", "attngan_network": name, "attngan_version": __version__}
            save_file(_state(net), str(out / f"{name}.safetensors"), metadata=info)
            os.chmod(out / f"{name}.safetensors", 0o644)  # safetensors writes 0600: the files are for sharing
    stale = out / "image_encoder.safetensors"
    if image_encoder is None and stale.exists():
        stale.unlink()
    vocab.save(out / VOCAB_NAME)
    (out / CONFIG_NAME).write_text(json.dumps(config, indent=2, default=str) + "\n")
    text = card if card is not None else render_model_card(config, evaluation)
    (out / CARD_NAME).write_text(text)
    return out


# ------------------------------------------------------------------------------------------ reading
def _bad_config(path: Path, problem: str) -> CheckpointError:
    return CheckpointError(f"'{path}' {problem}; {REEXPORT}")


def read_config(directory: Path) -> dict[str, Any]:
    """``config.json`` of a model directory, checked for format and the keys the loader needs."""
    path = directory / CONFIG_NAME
    if not path.is_file():
        raise CheckpointError(
            f"'{directory}' is not an attngan model directory: it has no {CONFIG_NAME}. Pass a directory "
            "written by save_pretrained / `attngan-export format=hf` (for a .ckpt file use from_checkpoint)"
        )
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise _bad_config(path, f"is not readable JSON ({type(err).__name__}: {err})") from err
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise _bad_config(path, f'is not an attngan model config (expected "format": "{FORMAT}")')
    version = config.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise CheckpointError(
            f"'{path}' has format_version {version!r}; this attngan ({__version__}) reads up to "
            f"{FORMAT_VERSION}: upgrade attngan"
        )
    networks = config.get("networks")
    missing = [k for k in ("networks", "max_words") if k not in config]
    missing += [
        f"networks.{n}" for n in EXPECTED_CLASS if not isinstance(networks, dict) or n not in networks
    ]
    if missing:
        raise _bad_config(path, f"lacks {', '.join(missing)}")
    return config


def _build(name: str, spec: Any, config_path: Path) -> nn.Module:
    """One network from its spec in config.json (attngan.models classes only)."""
    import attngan.models

    target = spec.get("_target_") if isinstance(spec, dict) else None
    known = isinstance(target, str) and target.startswith(ALLOWED_TARGET_PREFIX)
    cls = getattr(attngan.models, target.removeprefix(ALLOWED_TARGET_PREFIX), None) if known else None
    expected = EXPECTED_CLASS.get(name, nn.Module)
    if not (isinstance(cls, type) and issubclass(cls, expected)):
        raise _bad_config(
            config_path,
            f"names network class {target!r} for networks.{name}, expected {expected.__name__}: only "
            f"{ALLOWED_TARGET_PREFIX}<Class> is allowed (nothing else is ever built from a model directory)",
        )
    try:
        return build_network({**spec, "_target_": f"attngan.models.{cls.__name__}"})
    except (AttnGANError, ImportError, AttributeError, TypeError, ValueError) as err:
        raise _bad_config(config_path, f"cannot build networks.{name} ({target}): {err}") from err


def _load_weights(net: nn.Module, path: Path) -> None:
    """Fill ``net`` from a safetensors file (strict: every tensor, same shapes)."""
    from safetensors.torch import load_file

    if not path.is_file():
        raise CheckpointError(f"'{path}' is missing from the model directory; {REEXPORT}")
    try:
        state = load_file(str(path))
    except Exception as err:  # safetensors raises its own SafetensorError / OSError on truncated files
        raise CheckpointError(
            f"'{path}' cannot be read as safetensors ({type(err).__name__}: {str(err)[:200]}): it is "
            f"truncated or corrupt; download or {REEXPORT}"
        ) from err
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as err:
        detail = " ".join(str(err).split())[:300]
        raise CheckpointError(
            f"the weights in '{path}' do not fit the network config.json describes ({detail}); the files come "
            f"from different models: {REEXPORT}"
        ) from err


def load_components(directory: str | os.PathLike[str]) -> dict[str, Any]:
    """The networks, vocabulary and settings of a local model directory, frozen and in evaluation mode.

    Returns:
        Keyword arguments of :class:`~attngan.pipeline.AttnGANPipeline` (``text_encoder``, ``generator``,
        ``image_encoder``, ``vocab``, ``max_words``, ``metadata``).

    Raises:
        CheckpointError: a file is missing, corrupt, or does not fit the others (the message names it).
    """
    import warnings

    directory = Path(directory)
    config = read_config(directory)
    config_path = directory / CONFIG_NAME
    nets: dict[str, nn.Module | None] = {"image_encoder": None}
    for name in NETWORKS:
        spec = config["networks"].get(name)
        if spec is None:
            continue
        with warnings.catch_warnings():  # "random weights" notices: the weights come next
            warnings.simplefilter("ignore")
            net = _build(name, spec, config_path)
        _load_weights(net, directory / f"{name}.safetensors")
        net.requires_grad_(False)
        nets[name] = net.eval()
    try:
        vocab = Vocabulary.load(directory / VOCAB_NAME)
    except AttnGANError as err:
        raise CheckpointError(f"{err}; {REEXPORT}") from err
    if len(vocab) != config.get("vocab_size", len(vocab)) or len(vocab) != nets["text_encoder"].vocab_size:
        raise CheckpointError(
            f"'{directory / VOCAB_NAME}' has {len(vocab)} ids but config.json says vocab_size="
            f"{config.get('vocab_size')} and the text encoder has {nets['text_encoder'].vocab_size}: the files "
            f"come from different models; {REEXPORT}"
        )
    metadata = {
        "kind": "attngan",
        "version": config.get("attngan_version"),
        "config": config.get("training_config") or {},
        "vocab": vocab.to_list(),
        "networks": config["networks"],
        "generator_step": (config.get("training") or {}).get("generator_step"),
        "git": (config.get("training") or {}).get("git"),
        "source": str(directory),
    }
    return {**nets, "vocab": vocab, "max_words": int(config["max_words"]), "metadata": metadata}
