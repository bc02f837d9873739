# ruff: noqa: RUF009  (key() is dataclasses.field with the constraints as metadata)
"""Schemas of the console scripts' configs: the type, range and choices of every key a user sets.

Types are Hydra structured configs: each app's primary config (``conf/<app>.yaml``) starts its defaults list
with its dataclass below, registered in Hydra's ConfigStore as ``<app>_schema``, so OmegaConf refuses
``seed=abc`` while composing. The YAML keeps the defaults and the comments (``--help`` reads them); the
dataclasses declare what each key takes.

OmegaConf has types but no ranges or choices (decision 034): each field says its constraints in its
metadata (:func:`key`), and :func:`check_values` tests them on the composed config, before anything is
built. The groups that training shares (``data``, ``model``, ``trainer``, ``metrics``) are ``_target_`` nodes
whose keys differ by option; their constraints are a table keyed by the full dotted key
(:data:`SHARED_CHECKS`), checked wherever the key exists.
"""

from __future__ import annotations

import dataclasses
import re
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import MISSING, DictConfig, OmegaConf

from attngan.errors import ConfigError

__all__ = ["SCHEMAS", "SHARED_CHECKS", "Check", "check_values", "checks_for", "register_schemas"]

PRECISIONS = (
    *("32-true", "bf16-mixed", "16-mixed", "bf16-true", "16-true", "64-true"),
    *("transformer-engine", "transformer-engine-float16", "32", "16", "bf16", "64"),
)


@dataclass(frozen=True)
class Check:
    """What one key accepts: a kind, optional bounds (``ge`` ``gt`` ``le`` ``lt``) and choices.

    Kinds: ``int``, ``float`` (an int is accepted), ``bool``, ``str``, ``any``, ``device`` (a torch device that
    is visible here), ``file`` (an existing file), ``dir`` (an existing directory), ``path`` (an existing file
    or directory). ``optional``: ``null`` is accepted too.
    """

    kind: str = "any"
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    choices: tuple[Any, ...] = ()
    optional: bool = False

    def accepts(self) -> str:
        """What the key accepts, in words (``an integer >= 1``, ``one of hf, onnx``)."""
        if self.choices:
            text = "one of " + ", ".join(str(c) for c in self.choices)
        else:
            text = {
                "int": "an integer",
                "float": "a number",
                "bool": "true or false",
                "device": "auto, cpu, cuda, cuda:N or mps",
                "file": "an existing file",
                "dir": "an existing directory",
                "path": "an existing file or directory",
            }.get(self.kind, "a value")
            bounds = [(">=", self.ge), (">", self.gt), ("<=", self.le), ("<", self.lt)]
            shown = [f"{op} {int(b) if float(b).is_integer() else b}" for op, b in bounds if b is not None]
            text += " " + " and ".join(shown) if shown else ""
        return text + (" or null" if self.optional else "")

    def problem(self, value: Any) -> str | None:
        """Why ``value`` is refused (``"no CUDA device is visible here"``), or None when it is accepted."""
        if value is None:
            return None if self.optional or self.kind == "any" else "it must be set"
        if self.choices:
            return None if value in self.choices or str(value) in map(str, self.choices) else "not a choice"
        if self.kind == "bool" and not isinstance(value, bool):
            return "not true or false"
        if self.kind == "int" and (isinstance(value, bool) or not isinstance(value, int)):
            return "not an integer"
        if self.kind == "float" and (isinstance(value, bool) or not isinstance(value, int | float)):
            return "not a number"
        if self.kind in ("int", "float"):
            out = (
                (self.ge is not None and value < self.ge)
                or (self.gt is not None and value <= self.gt)
                or (self.le is not None and value > self.le)
                or (self.lt is not None and value >= self.lt)
            )
            return "out of range" if out else None
        if self.kind == "device":
            return device_problem(str(value))
        if self.kind in ("file", "dir", "path"):
            path = Path(str(value))
            if not path.exists():
                return "does not exist"
            if self.kind == "file" and path.is_dir():
                return "is a directory"
            if self.kind == "dir" and not path.is_dir():
                return "is a file"
        return None


def device_problem(device: str) -> str | None:
    """Why ``device`` cannot be used here, or None (``auto`` and ``cpu`` always can)."""
    if device in ("auto", "cpu"):
        return None
    if not re.fullmatch(r"cuda(:\d+)?|mps", device):
        return "not a device"
    import torch

    if device == "mps":
        return None if torch.backends.mps.is_available() else "no MPS device is visible here"
    if not torch.cuda.is_available():
        return "no CUDA device is visible here"
    index = int(device.partition(":")[2] or 0)
    count = torch.cuda.device_count()
    return (
        None
        if index < count
        else f"only {count} CUDA device(s) are visible here (cuda:0 to cuda:{count - 1})"
    )


def key(kind: str | None = None, *, choices: tuple[Any, ...] = (), **bounds: float) -> Any:
    """A schema field: its value comes from the YAML (``???`` here); ``kind``, ``choices`` and bounds say
    what it accepts beyond its annotated type."""
    return field(default=MISSING, metadata={"kind": kind, "choices": choices, **bounds})


# ---------------------------------------------------------------------------------------------- the apps
@dataclass
class GenerateSchema:
    checkpoint: str = key()
    captions: Any = key()  # a list, or one caption as a string
    captions_file: str | None = key("file")
    output_dir: str = key()
    overwrite: bool = key()
    seed: int = key()
    num_images_per_caption: int = key(ge=1)
    batch_size: int = key(ge=1)
    progress: bool = key()
    device: str = key("device")
    top_k: int = key(ge=1)
    cell_size: int | None = key(ge=16)


@dataclass
class EvalSchema:
    checkpoint: str | None = key()
    images: str | None = key("dir")
    reference: str | None = key("path")
    protocol: str | None = key(choices=("tf", "torchvision", "clean"))
    num_images: int = key(ge=1)
    batch_size: int = key(ge=1)
    output_dir: str = key()
    overwrite: bool = key()
    seed: int = key()
    device: str = key("device")
    save_images: bool = key()
    progress: bool = key()
    max_words: int | None = key(ge=1)
    compare: str | None = key(choices=("paper",))
    model: Any = key()
    metrics: Any = key()
    data: Any = key()
    paths: Any = key()


@dataclass
class ExportSchema:
    checkpoint: str = key()
    format: str = key(choices=("hf", "onnx"))
    output: str = key()
    overwrite: bool = key()
    evaluation: str | None = key("path")
    opset: int = key(ge=7)


@dataclass
class DemoSchema:
    checkpoint: str = key()
    host: str = key()
    port: int = key(ge=1, le=65535)
    device: str = key("device")
    num_examples: int = key(ge=0)
    top_k: int = key(ge=1)


@dataclass
class BudgetSchema:
    minutes: float = key(gt=0)
    reserve: float = key(ge=0, lt=1)
    attngan_steps_per_second: float = key(gt=0)
    reference_stage_sizes: list[int] = key()
    damsm_steps_per_second: float = key(gt=0)
    evaluation_seconds: float = key(ge=0)
    probe_seconds: float = key(ge=0)


@dataclass
class ReproduceSchema:
    output_dir: str = key()
    damsm_checkpoint: str = key()
    damsm_overrides: list[str] = key()
    train_overrides: list[str] = key()
    seeds: list[int] = key()
    device: str = key("device")
    force: bool = key()
    overwrite: bool = key()
    plan_only: bool = key()
    budget: BudgetSchema = field(default_factory=BudgetSchema)
    paths: Any = key()
    studies: Any = key()
    study: Any = key()


@dataclass
class DataToolSchema:
    command: str = key(choices=("check", "shapes"))
    seed: int = key()
    model: Any = key()
    manifest: str = key()
    workers: int = key(ge=1)
    progress: bool = key()
    root: str | None = key()
    num_images: int = key(ge=1)
    test_fraction: float = key(gt=0, lt=1)
    overwrite: bool = key()
    data: Any = key()
    paths: Any = key()


# primary config name -> its schema (registered as "<name>_schema")
SCHEMAS: dict[str, type] = {
    "generate": GenerateSchema,
    "eval": EvalSchema,
    "export": ExportSchema,
    "demo": DemoSchema,
    "reproduce": ReproduceSchema,
    "data_tool": DataToolSchema,
}

# ----------------------------------------------------------------------- groups shared with training
SHARED_CHECKS: dict[str, Check] = {
    "trainer.max_epochs": Check("int", ge=-1, optional=True),
    "trainer.max_steps": Check("int", ge=-1),
    "trainer.num_nodes": Check("int", ge=1),
    "trainer.log_every_n_steps": Check("int", ge=1, optional=True),
    "trainer.check_val_every_n_epoch": Check("int", ge=1, optional=True),
    "trainer.precision": Check(choices=PRECISIONS),
    "data.batch_size": Check("int", ge=1),
    "data.eval_batch_size": Check("int", ge=1, optional=True),
    "data.num_images": Check("int", ge=1),
    "data.num_workers": Check("int", ge=0),
    "data.max_words": Check("int", ge=1),
    "data.captions_per_image": Check("int", ge=1, optional=True),
    "data.caption_index": Check("int", ge=0),
    "data.generation_seed": Check("int"),
    "data.test_fraction": Check("float", gt=0, lt=1),
    "data.resize_ratio": Check("float", ge=1),
    "data.on_bad_sample": Check(choices=("error", "skip")),
    "data.random_flip": Check("bool"),
    "model.lambda_damsm": Check("float", ge=0),
    "model.kl_weight": Check("float", ge=0),
    "model.lr": Check("float", gt=0),
    "model.lr_generator": Check("float", gt=0),
    "model.lr_discriminator": Check("float", gt=0),
    "model.lr_decay": Check("float", gt=0, le=1),
    "model.ema_decay": Check("float", ge=0, lt=1),
    "model.gamma1": Check("float", gt=0),
    "model.gamma2": Check("float", gt=0),
    "model.gamma3": Check("float", gt=0),
    # the training options beyond the release (attngan.training.options.TrainingOptions checks them again)
    "model.training.adversarial_loss": Check(choices=("bce", "hinge")),
    "model.training.gradient_penalty": Check(choices=("none", "ma_gp", "r1")),
    "model.training.gradient_penalty_weight": Check("float", ge=0),
    "model.training.gradient_penalty_power": Check("float", gt=0),
    "model.training.gradient_penalty_every": Check("int", ge=1),
    "model.training.gradient_penalty_stages": Check(choices=("last", "all")),
    "model.training.hard_negative_fraction": Check("float", ge=0, le=1),
    "model.training.ema_rampup": Check("float", gt=0, optional=True),
    "model.training.lambda_damsm_start": Check("float", ge=0, optional=True),
    "model.training.lambda_rampup_steps": Check("int", ge=0),
    "model.generator.coord_channels": Check("bool"),
    "model.discriminator.coord_channels": Check("bool"),
    "data.fresh_images": Check("bool"),
    "metrics.strict": Check("bool"),
    "metrics.antialias": Check("bool"),
    "metrics.is_splits": Check("int", ge=1),
    "metrics.num_candidates": Check("int", ge=2),
    "metrics.num_folds": Check("int", ge=1),
    "metrics.inception_weights": Check("file", optional=True),
    "metrics.r_precision.protocol": Check(choices=("default", "dmgan")),
    "metrics.fid.protocol": Check(choices=("tf", "torchvision", "clean")),
    "metrics.fid.weights": Check("file", optional=True),
    "metrics.fid.reference": Check("file", optional=True),
    "metrics.fid.cache": Check("bool"),
    "metrics.is.classifier": Check(choices=("imagenet", "cub_finetuned")),
    "metrics.is.weights": Check("file", optional=True),
}


def _field_checks(schema: type, prefix: str = "") -> dict[str, Check]:
    hints = typing.get_type_hints(schema)
    found: dict[str, Check] = {}
    for f in dataclasses.fields(schema):
        hint = hints[f.name]
        if dataclasses.is_dataclass(hint):
            found.update(_field_checks(hint, f"{prefix}{f.name}."))
            continue
        args = typing.get_args(hint)
        optional = type(None) in args
        base = next((a for a in args if a is not type(None)), hint) if optional else hint
        kind = f.metadata.get("kind") or {int: "int", float: "float", bool: "bool", str: "str"}.get(
            base, "any"
        )
        bounds = {b: f.metadata[b] for b in ("ge", "gt", "le", "lt") if b in f.metadata}
        found[prefix + f.name] = Check(
            kind, choices=f.metadata.get("choices", ()), optional=optional, **bounds
        )
    return found


def checks_for(config_name: str) -> dict[str, Check]:
    """Every checked key of an app's config (its schema's fields and the shared groups' keys) -> its check."""
    schema = SCHEMAS.get(config_name)
    own = _field_checks(schema) if schema else {}
    return {**SHARED_CHECKS, **own}


def register_schemas() -> None:
    """Store every app's schema in Hydra's ConfigStore as ``<app>_schema`` (idempotent)."""
    from hydra.core.config_store import ConfigStore

    store = ConfigStore.instance()
    for name, schema in SCHEMAS.items():
        store.store(name=f"{name}_schema", node=schema)


# --------------------------------------------------------------------------------------------- checks
def refusal(full_key: str, value: Any, check: Check | None, problem: str | None = None) -> ConfigError:
    """The one-line error for ``full_key=value``: what it got and what it accepts."""
    shown = "null" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
    accepts = check.accepts() if check else "a value of its type"
    if check is not None and check.kind == "device" and problem and problem != "not a device":
        return ConfigError(
            f"{full_key}={shown}: {problem}; use {full_key}=cpu or {full_key}=auto "
            "(`attngan-doctor` shows what this machine has)"
        )
    if check is not None and check.kind == "device" and str(value).lower() in ("gpu", "cuda0", "nvidia"):
        visible = device_problem("cuda") is None
        return ConfigError(
            f"{full_key}={shown} is refused: {full_key} takes {accepts}"
            + ("" if visible else f"; no CUDA device is visible here: use {full_key}=cpu or {full_key}=auto")
        )
    if check is not None and check.kind in ("file", "dir", "path") and problem:
        return ConfigError(f"{full_key}={shown}: '{shown}' {problem}; {full_key} takes {accepts}")
    return ConfigError(f"{full_key}={shown} is refused: {full_key} takes {accepts}")


_ABSENT = object()


def check_values(cfg: DictConfig, config_name: str) -> None:
    """Refuse the first key of ``cfg`` whose value its check does not accept (:class:`ConfigError`).

    Keys that are absent, still ``???`` or whose interpolation resolves only inside the running app are left
    alone (they are reported elsewhere, or checked where they are used).
    """
    for full_key, check in checks_for(config_name).items():
        try:  # the default also for a key still ???
            value = OmegaConf.select(cfg, full_key, default=_ABSENT, throw_on_resolution_failure=True)
        except Exception:
            continue
        if value is _ABSENT:
            continue
        problem = check.problem(value)
        if problem:
            raise refusal(full_key, value, check, problem)


def explain_validation(err: BaseException, config_name: str) -> ConfigError | None:
    """The one-line error of an OmegaConf ``ValidationError`` raised while composing against a schema."""
    from omegaconf.errors import ValidationError

    cause = err if isinstance(err, ValidationError) else err.__cause__
    if not isinstance(cause, ValidationError) or not cause.full_key:
        return None
    full_key = str(cause.full_key)
    check = checks_for(config_name).get(full_key)
    if check is None:  # an element of a typed list (seeds=[a] -> seeds[0])
        found = re.search(r"converted to (Integer|Float|Boolean)", str(cause))
        check = (
            Check({"Integer": "int", "Float": "float", "Boolean": "bool"}[found.group(1)]) if found else None
        )
    return refusal(full_key, None if "is not Optional" in str(cause) else cause.value, check)
