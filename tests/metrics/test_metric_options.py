"""The one definition of the metric options: conf/metrics/default.yaml read by ``MetricOptions.from_config``, passed
whole to ``attngan-eval`` and to the training callback."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest
from omegaconf import OmegaConf
from torch import nn

from attngan.config import config_dir
from attngan.errors import ConfigError
from attngan.metrics.options import MetricOptions


def _group() -> dict:
    return OmegaConf.to_container(OmegaConf.load(Path(config_dir()) / "metrics" / "default.yaml"))


class Features(nn.Module):
    """A stand-in for Inception, named by ``_target_``."""


def test_every_key_of_the_group_is_a_field_with_the_same_default() -> None:
    group = _group()
    assert MetricOptions.from_config(group) == MetricOptions()
    dotted = [f"{k}.{sub}" for k, v in group.items() if isinstance(v, dict) for sub in v]
    dotted += [k for k, v in group.items() if not isinstance(v, dict)]
    config_fields = {f.name for f in fields(MetricOptions)} - {"seed", "oracle_kwargs", "feature_extractor"}
    assert {key.replace(".", "_") for key in dotted} == config_fields


def test_from_config_reads_the_groups_and_keeps_defaults_for_null() -> None:
    options = MetricOptions.from_config(
        {
            "num_folds": 3,
            "inception_weights": None,
            "r_precision": {"protocol": "dmgan"},
            "clip": {"model_path": "/clip"},
            "fid": {"protocol": "clean", "weights": "", "cache": False},
            "is": {"classifier": "cub_finetuned", "weights": "/cub.pth"},
            "feature_extractor": {"_target_": f"{__name__}.Features"},
        },
        seed=7,
    )
    assert (options.num_folds, options.seed, options.inception_weights) == (3, 7, None)
    assert (options.r_precision_protocol, options.clip_model_path) == ("dmgan", "/clip")
    assert (options.fid_protocol, options.fid_weights, options.fid_cache) == ("clean", None, False)
    assert (options.is_classifier, options.is_weights) == ("cub_finetuned", "/cub.pth")
    assert isinstance(options.feature_extractor, Features)
    assert MetricOptions.from_config({"fid": {"protocol": None}}).fid_protocol == "tf"


def test_unknown_keys_are_refused_with_their_config_path() -> None:
    with pytest.raises(
        ConfigError, match=r"callbacks\.evaluation\.fid\.protcol.*callbacks\.evaluation\.splits"
    ):
        MetricOptions.from_config({"fid": {"protcol": "tf"}, "splits": 2}, where="callbacks.evaluation")


def test_the_callback_gets_the_options_whole(tmp_path: Path) -> None:
    from hydra.utils import instantiate

    from attngan.config import compose_config
    from attngan.lit.evaluation import EvaluationCallback

    cfg = compose_config(
        "train",
        [f"paths.root_dir={tmp_path}", "callbacks.evaluation.num_folds=2", "callbacks.evaluation.seed=5"],
    )
    callback = instantiate(cfg.callbacks.evaluation, _convert_="all")
    assert callback.options == MetricOptions(num_folds=2, seed=5)
    bad = compose_config("train", [f"paths.root_dir={tmp_path}", "+callbacks.evaluation.num_fold=2"])
    with pytest.raises(Exception, match=r"callbacks\.evaluation\.num_fold"):
        instantiate(bad.callbacks.evaluation, _convert_="all")
    given = MetricOptions(is_splits=3)
    assert EvaluationCallback(options=given).options is given
    with pytest.raises(ConfigError, match="not both"):
        EvaluationCallback(options=given, num_folds=2)
