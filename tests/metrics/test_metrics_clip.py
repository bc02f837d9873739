"""CLIP score and CLIP-R-precision (attngan.metrics.clip) on a tiny random CLIP written by the test."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

pytest.importorskip("transformers")

from attngan.errors import ConfigError
from attngan.metrics.clip import CLIPFeatures, CLIPModelNotFoundError, CLIPRPrecision, CLIPScore
from attngan.metrics.inception import images_to_uint8
from attngan.metrics.options import CLIP, MetricInputs, MetricSkippedWarning
from attngan.metrics.r_precision import sample_mismatched_candidates
from attngan.metrics.registry import (
    METRICS,
    build_available,
    build_metrics,
    compute_metrics,
    describe_metrics,
    higher_is_better,
    update_metrics,
)
from helpers.clip import build_tiny_clip

CAPTIONS = [
    "a small red bird with black wings",
    "this bird is blue, with a short beak",
    "a yellow bird on a branch",
    "the bird has a white belly and grey wings",
    "a large green bird",
    "an orange bird with a long tail",
    "this bird is black and white.",
    "a brown bird standing on the ground",
    "a tiny bird with a pointed beak",
    "the bird is red and has a crest",
    "a bird with spotted wings",
    "a grey bird in the water",
]


@pytest.fixture(scope="module")
def clip_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # seed 2: the mean cosine on the test images is positive (~0.1), so the CLIP score is not clamped to 0
    return build_tiny_clip(tmp_path_factory.mktemp("clip") / "tiny-clip", seed=2)


@pytest.fixture(scope="module")
def clip(clip_dir: Path) -> CLIPFeatures:
    return CLIPFeatures(clip_dir)


def _images(n: int, size: int = 40, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(n, 3, size, size, generator=generator) * 2 - 1  # (N, 3, H, W) in [-1, 1]


def _embedding(output) -> torch.Tensor:
    """transformers 4 returns the projected embedding; 5 a model output holding it as ``pooler_output``."""
    return output if isinstance(output, torch.Tensor) else output.pooler_output


class _TensorFeatures(torch.nn.Module):
    """A CLIPModel whose get_*_features return tensors (what torchmetrics 1.9 expects; transformers 5 does not)."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model, self.config = model, model.config

    def get_image_features(self, *args, **kwargs) -> torch.Tensor:
        return _embedding(self.model.get_image_features(*args, **kwargs))

    def get_text_features(self, *args, **kwargs) -> torch.Tensor:
        return _embedding(self.model.get_text_features(*args, **kwargs))


def _one_by_one(clip_dir: Path, images: torch.Tensor, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """CLIP embeddings of each image and caption on its own, straight from transformers (no attngan code)."""
    from transformers import CLIPModel, CLIPProcessor

    model, processor = CLIPModel.from_pretrained(clip_dir).eval(), CLIPProcessor.from_pretrained(clip_dir)
    image_rows, text_rows = [], []
    with torch.no_grad():
        for image, text in zip(images, texts, strict=True):
            pixels = ((image + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)
            pixel_values = processor(images=[pixels], return_tensors="pt")["pixel_values"]
            image_rows.append(_embedding(model.get_image_features(pixel_values=pixel_values))[0])
            tokens = processor(text=[text], return_tensors="pt")
            text_rows.append(_embedding(model.get_text_features(**tokens))[0])
    return torch.stack(image_rows), torch.stack(text_rows)


# ----------------------------------------------------------------------------------------- CLIP score


def test_clip_score_equals_torchmetrics_clipscore(clip_dir: Path, clip: CLIPFeatures) -> None:
    from torchmetrics.multimodal.clip_score import CLIPScore as TorchmetricsCLIPScore
    from transformers import CLIPModel, CLIPProcessor

    images = _images(len(CAPTIONS))
    ours = CLIPScore(clip)
    ours.update(images[:5], CAPTIONS[:5])
    ours.update(images[5:], CAPTIONS[5:])
    result = ours.compute()

    reference = TorchmetricsCLIPScore(
        model_name_or_path=lambda: (
            _TensorFeatures(CLIPModel.from_pretrained(clip_dir)),
            CLIPProcessor.from_pretrained(clip_dir),
        )
    )
    reference.update(list(images_to_uint8(images)), CAPTIONS)
    assert float(result["clip_score"]) > 1.0  # not the clamp
    assert float(result["clip_score"]) == pytest.approx(float(reference.compute()), abs=1e-4)

    image_features, text_features = _one_by_one(clip_dir, images, CAPTIONS)
    cosines = F.cosine_similarity(image_features, text_features, dim=1)
    assert float(result["clip_cosine"]) == pytest.approx(float(cosines.mean()), abs=1e-5)
    assert float(result["clip_score"]) == pytest.approx(max(100 * float(cosines.mean()), 0.0), abs=1e-3)


def test_clip_score_of_identical_embeddings_is_100() -> None:
    class Same(torch.nn.Module):  # image and text embeddings are one fixed vector: cosine 1
        def __init__(self) -> None:
            super().__init__()
            self.anchor = torch.nn.Parameter(torch.tensor([0.6, 0.8]))

        def get_image_features(self, pixel_values: torch.Tensor) -> torch.Tensor:
            return self.anchor.expand(pixel_values.shape[0], 2)

        def get_text_features(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            return 3 * self.anchor.expand(input_ids.shape[0], 2)

    def processor(images=None, text=None, **kwargs):
        if images is not None:
            return {"pixel_values": torch.stack(images).float()}
        return {
            "input_ids": torch.zeros(len(text), 3, dtype=torch.long),
            "attention_mask": torch.ones(len(text), 3),
        }

    metric = CLIPScore(CLIPFeatures(model=Same(), processor=processor))
    metric.update(_images(3), ["a", "b", "c"])
    result = metric.compute()
    assert float(result["clip_score"]) == pytest.approx(100.0)
    assert float(result["clip_cosine"]) == pytest.approx(1.0)


def test_clip_update_checks_the_batch(clip: CLIPFeatures) -> None:
    with pytest.raises(ValueError, match="one caption per image"):
        CLIPScore(clip).update(_images(2), ["only one"])


# ----------------------------------------------------------------------------------------- CLIP-R-precision


def test_clip_r_precision_against_a_per_image_loop(clip_dir: Path, clip: CLIPFeatures) -> None:
    n, num_candidates, num_folds, seed = len(CAPTIONS), 5, 3, 7
    images = _images(n, seed=1)
    class_ids = torch.tensor([0, 0, 1, 1, 2, 2, 3, 3, 4, 4, -1, -1])
    metric = CLIPRPrecision(clip, num_candidates=num_candidates, num_folds=num_folds, seed=seed)
    order = torch.randperm(
        n, generator=torch.Generator().manual_seed(3)
    )  # updates out of order, with indices
    for chunk in order.split(5):
        metric.update(images[chunk], [CAPTIONS[i] for i in chunk], class_ids[chunk], chunk)
    result = metric.compute()
    assert set(result) == {"clip_r_precision", "clip_r_precision_std"}

    image_features, text_features = _one_by_one(clip_dir, images, CAPTIONS)
    candidates, valid = sample_mismatched_candidates(
        class_ids, num_candidates - 1, torch.Generator().manual_seed(seed)
    )
    correct = []
    for i in range(n):
        own = F.cosine_similarity(image_features[i], text_features[i], dim=0).item()
        wrong = [
            F.cosine_similarity(image_features[i], text_features[j], dim=0).item()
            for j, ok in zip(candidates[i].tolist(), valid[i].tolist(), strict=True)
            if ok
        ]
        assert all(class_ids[j] != class_ids[i] or class_ids[i] < 0 for j in candidates[i].tolist())
        correct.append(float(own > max(wrong)))
    folds = [fold.mean() for fold in np.array_split(np.array(correct), num_folds)]
    assert float(result["clip_r_precision"]) == pytest.approx(np.mean(folds), abs=1e-6)
    assert float(result["clip_r_precision_std"]) == pytest.approx(np.std(folds), abs=1e-6)


# ----------------------------------------------------------------------------------------- registry


def test_registry_entries_declare_clip_needs_and_directions() -> None:
    assert METRICS["clip_score"].needs == frozenset({CLIP})
    assert METRICS["clip_r_precision"].needs == frozenset({CLIP})
    assert METRICS["clip_score"].result_names == ("clip_score", "clip_cosine")
    assert METRICS["clip_r_precision"].result_names == ("clip_r_precision", "clip_r_precision_std")
    assert higher_is_better("val/clip_score") and higher_is_better("clip_r_precision")
    assert not higher_is_better("clip_r_precision_std")


def test_missing_clip_model_is_skipped_with_one_line_unless_asked() -> None:
    with pytest.warns(MetricSkippedWarning, match=r"metrics\.clip\.model_path is not set") as record:
        metrics = build_metrics(["r_precision", "clip_score", "clip_r_precision"])
    assert list(metrics) == ["r_precision"]
    messages = [str(w.message) for w in record if issubclass(w.category, MetricSkippedWarning)]
    assert len(messages) == 1 and "\n" not in messages[0]  # both CLIP metrics, one line
    assert "['clip_score', 'clip_r_precision']" in messages[0]
    with pytest.raises(CLIPModelNotFoundError):
        build_metrics(["clip_score"], strict=True)


def test_a_configured_but_missing_clip_model_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(CLIPModelNotFoundError, match="is not a directory"):
        build_metrics(["clip_r_precision"], clip_model_path=str(tmp_path / "nowhere"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(CLIPModelNotFoundError, match=r"no config\.json"):
        build_metrics(["clip_score"], clip_model_path=str(tmp_path / "empty"))
    # a configured (missing) Inception file does not turn the unconfigured CLIP model into an error
    _, skipped = build_available(["clip_score"], _options(inception_weights=str(tmp_path / "x.pth")))
    assert "clip_score" in skipped


def _options(**fields):
    from attngan.metrics.options import MetricOptions

    return MetricOptions(**fields)


def test_explicitly_named_clip_metric_without_model_is_an_error(tmp_path: Path, monkeypatch) -> None:
    from attngan.evaluation.suite import MetricSuite, default_metric_names

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty-torch-home"))  # no Inception either
    monkeypatch.setattr(torch.hub, "_hub_dir", None)

    with pytest.raises(CLIPModelNotFoundError):
        MetricSuite(["clip_score"], dataset="cub")
    assert default_metric_names("cub") == ["r_precision", "clip_r_precision", "clip_score", "is", "fid"]
    assert "clip_score" not in default_metric_names("cub", during_training=True)
    suite = MetricSuite(None, dataset="cub")  # defaults: CLIP skipped like IS/FID without files
    assert {"clip_score", "clip_r_precision"} <= set(suite.skipped)


def test_registry_feeds_images_and_texts_and_shares_one_clip(clip_dir: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", MetricSkippedWarning)
        metrics = build_metrics(
            ["clip_score", "clip_r_precision"], clip_model_path=str(clip_dir), num_candidates=4, num_folds=2
        )
    assert metrics["clip_score"].clip is metrics["clip_r_precision"].clip  # one model for both
    images = _images(8, seed=2)
    update_metrics(metrics, MetricInputs(images=images, texts=CAPTIONS[:8], indices=torch.arange(8)))
    results = compute_metrics(metrics)
    assert set(results) == {"clip_score", "clip_cosine", "clip_r_precision", "clip_r_precision_std"}
    assert 0.0 <= results["clip_r_precision"] <= 1.0 and results["clip_score"] >= 0.0
    info = describe_metrics(metrics)
    assert info["clip_model"] == str(clip_dir) and "patch 8" in info["clip_architecture"]


def test_word_lists_are_joined_when_no_texts(clip: CLIPFeatures) -> None:
    images = _images(2)
    from_words, from_texts = CLIPScore(clip), CLIPScore(clip)
    update_metrics({"clip_score": from_words}, MetricInputs(images=images, captions=[["a", "red"], ["blue"]]))
    from_texts.update(images, ["a red", "blue"])
    assert float(from_words.compute()["clip_cosine"]) == pytest.approx(
        float(from_texts.compute()["clip_cosine"])
    )


def test_clip_model_moves_with_the_metric_and_stays_out_of_state_dicts(clip: CLIPFeatures) -> None:
    metric = CLIPScore(clip)
    assert not any("model" in key for key in metric.state_dict())
    metric.to("cpu").train()
    assert not clip.network.training


def test_not_a_clip_directory_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(ConfigError, match="could not load a CLIP model"):
        CLIPFeatures(tmp_path)
