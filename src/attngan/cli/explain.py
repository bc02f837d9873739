"""User mistakes on the command line, as one line that names the culprit and the fix.

Two jobs, shared by every console script through :func:`attngan.cli.common.hydra_main`:

- :func:`check_config`: checks of the composed config that run *before* the task builds anything (no data is
  prepared): mandatory values, keys that no constructor takes (and where they came from), checkpoint files
  that must exist, an accelerator that is not there.
- :func:`explain`: Hydra's, OmegaConf's and Lightning's exceptions for mistakes a user makes (a mistyped key,
  an unknown option, a missing plugin, no GPU) turned into an :class:`~attngan.errors.ConfigError` with the
  closest real keys or the command that fixes it. Anything else is left alone (a real bug keeps its
  traceback).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import MissingMandatoryValue, OmegaConfBaseException

from attngan.config import checkpoint_problem, closest_keys, dotted_keys, missing_values, unknown_target_keys
from attngan.errors import AttnGANError, CheckpointError, ConfigError
from attngan.schemas import check_values, device_problem, explain_validation

if TYPE_CHECKING:
    from hydra.errors import MissingConfigException

# Hydra plugins behind a config group option, and the extra that installs each
PLUGINS = {"submitit": "slurm", "optuna": "optuna"}
# keys whose value, when set, must be an existing checkpoint file
CHECKPOINT_KEYS = ("checkpoint", "init_from", "ckpt_path")
MULTIRUN_FLAGS = ("-m", "--multirun")
SINGLE_RUN_FLAGS = ("--cfg", "-c", "--info", "-i", "--shell-completion", "-sc")


@dataclass
class App:
    """One console script: its name, primary config and the overrides it was given."""

    prog: str
    config_name: str
    overrides: list[str] = field(default_factory=list)
    choices: dict[str, Any] = field(default_factory=dict)  # Hydra's runtime.choices, once composed

    def example(self, key: str) -> str:
        """A usage example of the app's YAML header, preferably one that sets ``key``."""
        from attngan.cli.help import usage_examples

        examples = usage_examples(self.config_name, self.prog)
        leaf = key.rpartition(".")[2]
        chosen = next((e for e in examples if f"{leaf}=" in e), examples[0] if examples else "")
        return f"e.g. `{chosen}`" if chosen else f"`{self.prog} --help` lists the keys"


def one_line(message: str) -> str:
    """``message`` with its lines joined, so that an error is one line on stderr."""
    return " ".join(part.strip() for part in str(message).splitlines() if part.strip())


# ------------------------------------------------------------------------------------ before composing
def _split_override(argv: Sequence[str]) -> ConfigError | None:
    """An override the shell split at its spaces (``captions=[a large red circle]`` unquoted): the words after
    it arrive as arguments without ``=``, and Hydra would read ``captions=[a`` alone."""
    for i, arg in enumerate(argv):
        if "=" not in arg or arg.startswith("-"):
            continue
        words = [arg]
        for word in argv[i + 1 :]:
            if "=" in word or word.startswith(("-", "~", "+")):  # a flag or another override (~key deletes)
                break
            words.append(word)
        if len(words) == 1:
            continue
        key, _, value = " ".join(words).partition("=")
        if value.startswith("[") and value.endswith("]"):
            items = ",".join(f'"{item.strip()}"' for item in value[1:-1].split(","))
            quoted = f"'{key}=[{items}]'"
        else:
            quoted = f"'{key}=\"{value}\"'"
        return ConfigError(
            f"the shell split the override {' '.join(words)} into {len(words)} arguments at its spaces: quote "
            f"it, e.g. {quoted}"
        )
    return None


def check_arguments(app: App, argv: Sequence[str]) -> None:
    """Refuse flag combinations Hydra rejects with a traceback, and overrides the shell split."""
    split = _split_override(argv)
    if split is not None:
        raise split
    if any(a in MULTIRUN_FLAGS for a in argv) and any(a.split("=")[0] in SINGLE_RUN_FLAGS for a in argv):
        raise ConfigError(
            "-m (run a sweep) and --cfg (print the config of one run) do not go together: drop -m and give "
            f"one value per key to see one job's config (`{app.prog} <overrides> --cfg job`)"
        )


# ----------------------------------------------------------------------------------- the composed config
def _damsm_hint(cfg: DictConfig) -> str:
    name = OmegaConf.select(cfg, "data.name", default=None) or "shapes"
    return (
        f"AttnGAN needs a trained DAMSM: `attngan-train experiment={name}_damsm` writes "
        f"outputs/{name}/damsm.ckpt, which experiment={name}_attngan reads (or set model.damsm_checkpoint=PATH)"
    )


def _origin(app: App, key: str) -> str:
    """Where a key of the composed config came from: the experiment or the command line."""
    for override in app.overrides:
        if override.lstrip("+~").split("=")[0] == key:
            return "added on the command line"
    experiment = app.choices.get("experiment")
    if experiment:
        from attngan.config import config_dir

        path = Path(config_dir()) / "experiment" / f"{experiment}.yaml"
        if path.is_file() and OmegaConf.select(OmegaConf.load(path), key, default=None) is not None:
            return f"set by experiment={experiment}"
    return "set in the config"


def _group_of(app: App, node: str) -> str | None:
    """``group=option`` of the most specific config group that wrote into ``node`` (``model.image_encoder`` ->
    ``model/image_encoder=cnn``), from Hydra's choices (``group@package`` entries included)."""
    found = []
    for key, option in app.choices.items():
        group, _, package = str(key).partition("@")
        where = package or group.replace("/", ".")
        if option and not group.startswith("hydra") and (node == where or node.startswith(where + ".")):
            found.append((len(where), f"{group}={option}"))
    return max(found)[1] if found else None


def _overridden(app: App, node: str) -> bool:
    """Whether the command line added a key under ``node`` (``+key=``) or chose a group that writes into it: only
    such a node can hold keys its constructor does not take (the shipped YAMLs are tested to fit their targets,
    tests/cli/test_config.py); the others are not imported (importing a LightningModule takes seconds)."""
    for override in app.overrides:
        key = override.split("=")[0]
        if key.startswith("+") or "." not in key:
            group, _, package = key.lstrip("+").partition("@")
            path = package or group.replace("/", ".")
            if node == path or node.startswith(path + ".") or path.startswith(node + "."):
                return True
    return False


def _check_unknown_keys(cfg: DictConfig, app: App) -> None:
    problems = unknown_target_keys(cfg, lambda node: _overridden(app, node))
    if not problems:
        return
    problem = problems[0]
    keys = [f"{problem.node}.{k}" for k in problem.unknown]
    group = _group_of(app, problem.node)
    where = f"{group} ({problem.target})" if group else problem.target
    origin = _origin(app, keys[0])
    if origin.startswith("set by"):  # the experiment was written for another data/model choice
        fix = f"drop {'it' if len(keys) == 1 else 'them'} with {' '.join(f'~{k}' for k in keys)}"
    else:
        near = closest_keys(keys[0], [f"{problem.node}.{k}" for k in problem.accepted])
        fix = (
            ("did you mean " + " or ".join(near) + "?") if near and len(keys) == 1 else "remove or rename it"
        )
    raise ConfigError(
        f"{', '.join(keys)} ({origin}) is not a key that {where} takes: {fix} "
        f"(`{app.prog} ... --cfg job` shows every key)"
    )


def check_checkpoints(cfg: DictConfig) -> None:
    for key in dotted_keys(cfg):
        leaf = key.rpartition(".")[2]
        if leaf not in CHECKPOINT_KEYS and not leaf.endswith("_checkpoint"):
            continue
        try:
            value = OmegaConf.select(cfg, key, throw_on_resolution_failure=True)
        except Exception:  # an interpolation that only resolves inside the running app
            continue
        if value is None or not isinstance(value, str | Path) or (leaf == "ckpt_path" and value == "auto"):
            continue
        problem = checkpoint_problem(value)
        if problem is None:
            continue
        if leaf == "damsm_checkpoint":
            hint = _damsm_hint(cfg)
        elif problem == "is a directory":
            hint = (
                "expected a checkpoint file written by attngan-train (e.g. <run dir>/checkpoints/last.ckpt)"
            )
        else:
            hint = (
                "expected a checkpoint file written by attngan-train (export_path=, or <run dir>/checkpoints/"
                "last.ckpt) or attngan-import-original; relative paths are taken from the current directory"
            )
        raise CheckpointError(f"{key} '{value}' {problem}: {hint}")


def check_accelerator(cfg: DictConfig, app: App) -> None:
    accelerator = str(OmegaConf.select(cfg, "trainer.accelerator", default="") or "").lower()
    devices = {"gpu": ("cuda", "mps"), "cuda": ("cuda",), "mps": ("mps",)}.get(accelerator, ())
    if not devices or any(device_problem(device) is None for device in devices):
        return
    import torch

    chosen = app.choices.get("trainer")
    build = f"CUDA {torch.version.cuda} build" if torch.version.cuda else "CPU-only build"
    raise ConfigError(
        f"trainer.accelerator={accelerator}{f' (trainer={chosen})' if chosen else ''} but no "
        f"{'CUDA or MPS' if accelerator == 'gpu' else accelerator.upper()} device is visible here (torch "
        f"{torch.__version__}, {build}): trainer=cpu runs on the CPU; trainer.accelerator=auto uses a GPU "
        "whenever one is present and the CPU otherwise (`attngan-doctor` shows what this machine has)"
    )


def check_config(cfg: DictConfig, app: App) -> None:
    """Every check of the composed ``cfg`` that needs no data: raises :class:`ConfigError` on the first problem."""
    missing = missing_values(cfg)
    if missing:
        hint = _damsm_hint(cfg) if missing[0].endswith("damsm_checkpoint") else app.example(missing[0])
        raise ConfigError(
            f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set (mandatory): give "
            f"{missing[0]}=...; {hint}"
        )
    _check_unknown_keys(cfg, app)
    check_values(cfg, app.config_name)  # types, ranges, choices, devices, input files (attngan.schemas)
    check_checkpoints(cfg)
    check_accelerator(cfg, app)


# ---------------------------------------------------------------------------- exceptions of the libraries
def _unknown_override(app: App, key: str, verb: str, err: BaseException) -> ConfigError:
    """The closest real keys: those of the config being composed (OmegaConf's error holds it), or for a
    deletion (``~key``, no such error) those of the config composed without that override."""
    node = err.__cause__.parent_node if isinstance(err.__cause__, OmegaConfBaseException) else None
    keys = dotted_keys(node._get_root()) if node is not None else []
    others = [o for o in app.overrides if o.lstrip("+~").split("=")[0] != key]
    groups_only = [o for o in others if "=" in o and "." not in o.split("=")[0]]
    for attempt in (others, groups_only, []) if node is None else ():
        try:
            from attngan.config import compose_config

            keys = dotted_keys(compose_config(app.config_name, attempt))
            break
        except Exception:
            continue
    near = closest_keys(key, keys)
    fix = f"did you mean {' or '.join(near)}?" if near else f"`{app.prog} --help` lists the keys"
    return ConfigError(
        f"{key} is not a key of this config ({verb}): {fix} (`{app.prog} ... --cfg job` shows every key)"
    )


def _missing_config(err: MissingConfigException, app: App) -> ConfigError:
    message = str(err)
    for name, extra in PLUGINS.items():
        if name in message:
            return ConfigError(
                f"{one_line(message.split(chr(10))[0])} The {name} plugin is not installed: "
                f"pip install 'attngan[{extra}]' (or `uv pip install -e '.[{extra}]'` in a clone)"
            )
    found = re.search(r"Could not find '([^']+)/([^'/]+)'", message)
    options = list(err.options or [])
    if found:
        group, option = found.group(1), found.group(2)
        choose = f"choose one of {', '.join(options)}" if options else f"see `{app.prog} --help`"
        return ConfigError(f"{group}={option}: there is no conf/{group}/{option}.yaml; {choose}")
    return ConfigError(one_line(message))


def explain(err: BaseException, app: App) -> AttnGANError | None:
    """The user-facing error behind ``err``, or None when it is not a user mistake we know."""
    from hydra.errors import (
        ConfigCompositionException,
        InstantiationException,
        MissingConfigException,
        OverrideParseException,
    )

    if isinstance(err, AttnGANError):
        return err
    if isinstance(err, InstantiationException) and isinstance(err.__cause__, AttnGANError):
        return err.__cause__
    if isinstance(err, MissingMandatoryValue):
        key = err.full_key or ""
        return ConfigError(f"{key} is not set (mandatory): give {key}=...; {app.example(key)}")
    if isinstance(err, MissingConfigException):
        return _missing_config(err, app)
    if isinstance(err, OverrideParseException):
        return ConfigError(f"cannot read the override '{err.override}': {one_line(err.message)}")
    message = str(err)
    if isinstance(err, ConfigCompositionException) and (refused := explain_validation(err, app.config_name)):
        return refused
    if isinstance(err, ConfigCompositionException):
        for pattern, verb in (
            (r"Could not override '([^']+)'", "to set it"),
            (r"Could not delete from config. '([^']+)' does not exist", "to delete it with ~"),
        ):
            found = re.search(pattern, message)
            if found:
                return _unknown_override(app, found.group(1), verb, err)
        found = re.search(r"An item is already at '([^']+)'", message)
        if found:
            return ConfigError(
                f"{found.group(1)} already exists: set it without the + ({found.group(1)}=...)"
            )
        cause = f" ({one_line(err.__cause__)})" if isinstance(err.__cause__, OmegaConfBaseException) else ""
        return ConfigError(one_line(message) + cause)
    if isinstance(err, ValueError) and "Only one of --run, --multirun, --cfg" in message:
        return ConfigError(
            one_line(message) + f"; drop -m to print one job's config (`{app.prog} ... --cfg job`)"
        )
    if type(err).__name__ == "MisconfigurationException" and re.search(r"gpu|cuda|mps", message, re.I):
        return ConfigError(
            f"{one_line(message)}: no CUDA or MPS device is visible here. trainer=cpu runs on the CPU; "
            "trainer.accelerator=auto uses a GPU whenever one is present (`attngan-doctor` shows this machine)"
        )
    if isinstance(err, ModuleNotFoundError):
        for name, extra in PLUGINS.items():
            if name in (err.name or ""):
                return ConfigError(f"{message}: pip install 'attngan[{extra}]'")
    return None
