"""Shared by the reproduce tests: the reproduce config at tiny size, on the session's tiny DAMSM."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers.training import TINY_ATTNGAN, TINY_DAMSM, TINY_DATA, TINY_TRAINER

_FEWER = ["trainer.limit_train_batches=1", "callbacks.evaluation.num_images=16"]
# the recipe study keeps one removal (CoordConv: two model keys) at tiny size
_ABLATIONS_LEFT_OUT = ("kl_weight", "lambda_ramp", "hard_negatives", "count_negatives")


def _strip(overrides: list[str]) -> list[str]:
    return [o for o in overrides if not o.startswith(("experiment=", "trainer.max_epochs="))]


def _listed(overrides: list[str]) -> str:
    return "[" + ",".join(f"'{o}'" for o in overrides) + "]"


def tiny_overrides(root: Path, damsm: Path, cache: Path) -> list[str]:
    """``attngan-reproduce`` overrides: every study at a few steps and a few captions, on ``damsm``."""
    return [
        f"paths.root_dir={root}",
        f"paths.cache_dir={cache}",
        f"output_dir={root}/reproduce",
        f"damsm_checkpoint={damsm}",
        # one training step per run and 16 evaluation images: the studies' plumbing, not their numbers
        f"train_overrides={_listed(_strip(TINY_DATA + TINY_TRAINER + TINY_ATTNGAN) + _FEWER)}",
        f"damsm_overrides={_listed(_strip(TINY_DATA + TINY_TRAINER + TINY_DAMSM))}",
        "studies.lambda.epochs=1",
        "studies.lambda.lambdas=[1]",
        "studies.novel.epochs=1",
        "studies.novel.own_damsm=false",
        "studies.novel.num_captions=6",
        "studies.word_swap.num_captions=6",
        "studies.attention.num_captions=6",
        "studies.attention.min_count=1",
        "studies.refinement.num_captions=6",
        # AttnGAN2 (the recipe) at the one λ; two seeds for the decisive pairs; one option removed
        "studies.lambda.attngan2_lambda=1",
        "seeds=[42,43]",
        *[f"~studies.recipe.ablations.{name}" for name in _ABLATIONS_LEFT_OUT],
    ]


@pytest.fixture(scope="session")
def tiny_reproduce_overrides(
    tmp_path_factory: pytest.TempPathFactory, tiny_damsm_checkpoint: Path
) -> list[str]:
    """The tiny overrides in a fresh directory, on the session's tiny DAMSM and its generated shapes cache."""
    root = tmp_path_factory.mktemp("reproduce")
    return tiny_overrides(root, tiny_damsm_checkpoint, tmp_path_factory.getbasetemp() / "shared-cache")
