"""OmegaConf resolvers used by the shipped configs, and checks of a composed config.

The checks run on the composed config *before* anything is built (no data is prepared, no network is
created), so that a mistyped key, a missing value or a checkpoint that is not there is reported at once:

- :func:`missing_values`: keys still ``???``;
- :func:`unknown_target_keys`: keys of a ``_target_`` node that its constructor does not take;
- :func:`closest_keys`: the real keys nearest to a mistyped one ("did you mean ...?");
- :func:`checkpoint_problem`: why a path is not a readable checkpoint file.

:func:`compose_config` composes a shipped config from Python (notebooks, benchmarks, tests).
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf


def config_dir() -> str:
    """Absolute path of the shipped ``conf/`` directory (the repository's in an editable install)."""
    return str(resources.files("attngan.conf"))


def compose_config(
    config_name: str, overrides: Sequence[str] = (), return_hydra_config: bool = False
) -> DictConfig:
    """Compose a shipped config (``train``, ``eval``, ``data_tool``, ...) with ``overrides``, as its app would.

    For Python callers (notebooks, benchmarks, tests): no Hydra run directory, nothing resolved yet;
    ``return_hydra_config=True`` keeps the ``hydra`` node (launcher, sweeper).
    """
    from hydra import compose, initialize_config_dir

    from attngan.schemas import register_schemas

    register_schemas()
    with initialize_config_dir(config_dir=config_dir(), version_base="1.3"):
        return compose(
            config_name=config_name, overrides=list(overrides), return_hydra_config=return_hydra_config
        )


# Hydra's reserved keys of an instantiable node: never constructor arguments
_RESERVED = {"_target_", "_partial_", "_args_", "_recursive_", "_convert_"}


def stage_sizes(base_size: int, num_stages: int) -> ListConfig:
    """Image sizes of a generator's stages: ``base_size * 2**i`` for ``i < num_stages``.

    A ``ListConfig`` rather than a list, so that ``OmegaConf.resolve`` (``--cfg job --resolve``) accepts it.
    """
    return ListConfig([int(base_size) * 2**i for i in range(int(num_stages))])


def register_resolvers() -> None:
    """Register ``${stage_sizes:base,num}`` (idempotent)."""
    if not OmegaConf.has_resolver("stage_sizes"):
        OmegaConf.register_new_resolver("stage_sizes", stage_sizes)


def to_plain(cfg: Any) -> Any:
    """A resolved config as plain Python containers (safe for ``torch.load(weights_only=True)``)."""
    if isinstance(cfg, DictConfig | ListConfig):
        return OmegaConf.to_container(cfg, resolve=True, throw_on_missing=False)
    return cfg


def unaccepted_arguments(target: Callable[..., Any], names: Iterable[str]) -> tuple[list[str], list[str]]:
    """``(unknown, accepted)``: the ``names`` that ``target``'s constructor does not take, and those it does."""
    accepted = inspect.signature(target).parameters
    return sorted(k for k in names if k not in accepted), sorted(accepted)


# ------------------------------------------------------------------------------------ checks of a config
def _walk(node: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """``(dotted key, value)`` of every key below ``node`` (values unresolved), parents before children."""
    if isinstance(node, dict):
        for key, value in node.items():
            path = f"{prefix}{key}"
            yield path, value
            yield from _walk(value, path + ".")


def _plain_unresolved(cfg: DictConfig) -> dict[str, Any]:
    plain = OmegaConf.to_container(cfg, resolve=False, throw_on_missing=False)
    plain.pop("hydra", None)
    return plain


def dotted_keys(cfg: DictConfig) -> list[str]:
    """Every key of ``cfg`` as a dotted path (``model.generator.ngf``), the ``hydra`` node left out."""
    return [path for path, _ in _walk(_plain_unresolved(cfg))]


def closest_keys(key: str, candidates: Iterable[str], n: int = 3) -> list[str]:
    """The ``candidates`` nearest to a mistyped dotted ``key``, best first (empty when none is close).

    Keys under the same parent are preferred (``model.lambda_dams`` -> ``model.lambda_damsm``); otherwise
    the last component is matched anywhere (``model.max_words`` -> ``data.max_words``).
    """
    parent, _, leaf = key.rpartition(".")
    siblings: dict[str, str] = {}  # leaf -> key, under the same parent
    elsewhere: dict[str, list[str]] = {}  # leaf -> keys, under other parents
    for c in candidates:
        c_parent, _, c_leaf = c.rpartition(".")
        if c == key:
            continue
        if c_parent == parent:
            siblings[c_leaf] = c
        else:
            elsewhere.setdefault(c_leaf, []).append(c)
    found = [siblings[s] for s in difflib.get_close_matches(leaf, list(siblings), n=n, cutoff=0.7)]
    found += elsewhere.get(leaf, [])
    for near in difflib.get_close_matches(leaf, list(elsewhere), n=n, cutoff=0.8):
        found += [c for c in elsewhere[near] if c not in found]
    return found[:n]


def missing_values(cfg: DictConfig) -> list[str]:
    """Keys of ``cfg`` still set to ``???`` (mandatory values nobody gave), sorted; ``hydra`` left out."""
    return sorted(path for path, value in _walk(_plain_unresolved(cfg)) if value == "???")


@dataclass(frozen=True)
class UnknownKeys:
    """Keys of one ``_target_`` node that its constructor does not take."""

    node: str  # dotted path of the node ("data", "model.generator")
    target: str
    unknown: list[str]
    accepted: list[str]


def _accepted_keys(node: dict[str, Any]) -> Iterable[str] | None:
    """The keys a ``_target_`` node may hold: the target's own ``accepted_keys(node)`` when it has one (a class
    whose ``**kwargs`` it passes on, e.g. the data module to its reader), else its signature's; None: any."""
    from hydra._internal.utils import _locate  # what instantiate() uses; hydra.utils.get_object logs errors

    target = _locate(node["_target_"])
    declared = getattr(target, "accepted_keys", None)
    if callable(declared):
        return declared(node)
    params = inspect.signature(target).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return None
    return params


def unknown_target_keys(
    cfg: DictConfig, checked: Callable[[str], bool] = lambda node: True
) -> list[UnknownKeys]:
    """Every ``_target_`` node of ``cfg`` (``hydra`` left out) with keys its constructor does not take.

    Targets that take ``**kwargs`` accept anything and are not checked; targets that cannot be imported
    are left to the code that instantiates them (it says why).

    Args:
        cfg: a composed config.
        checked: ``checked(node_path)``: whether to check that node (False: its target is not imported).
    """
    found = []
    for path, value in _walk(_plain_unresolved(cfg)):
        if not isinstance(value, dict) or not isinstance(value.get("_target_"), str) or not checked(path):
            continue
        try:
            params = _accepted_keys(value)
        except (ImportError, AttributeError, TypeError, ValueError):
            continue
        if params is None:
            continue
        unknown = sorted(k for k in value if k not in params and k not in _RESERVED)
        if unknown:
            found.append(UnknownKeys(path, value["_target_"], unknown, sorted(params)))
    return found


def checkpoint_problem(path: str | Path) -> str | None:
    """Why ``path`` cannot be a checkpoint file (``"does not exist"``, ``"is a directory"``, ...), else None."""
    path = Path(path)
    if not path.exists():
        return "does not exist"
    if path.is_dir():
        return "is a directory"
    if path.stat().st_size == 0:
        return "is empty (0 bytes)"
    return None


register_resolvers()
