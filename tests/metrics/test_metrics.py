"""Metrics: R-precision, IS/FID wrappers (tiny injected networks, no downloads); shapes: test_metrics_shapes.py."""

from __future__ import annotations

import socket
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from attngan.errors import WeightsNotFoundError
from attngan.metrics import (
    METRIC_NAMES,
    METRICS,
    FrechetInceptionDistance,
    InceptionScore,
    MetricInputs,
    MetricSkippedWarning,
    RPrecision,
    build_metrics,
    compute_metrics,
    describe_metrics,
    higher_is_better,
    update_metrics,
)
from attngan.metrics.inception import INCEPTION_WEIGHTS_FILENAME, InceptionFeatures
from attngan.metrics.r_precision import r_precision, sample_mismatched_candidates

# ----------------------------------------------------------------------------------------- fixtures


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open a connection fails loudly."""

    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


@pytest.fixture
def empty_torch_home(tmp_path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setattr(torch.hub, "_hub_dir", None)
    return tmp_path / "torch"


class TinyNet(nn.Module):
    """A small random network standing in for Inception: uint8 (B, 3, H, W) -> (B, 16)."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(3, 8, 3, stride=2)
        self.head = nn.Linear(8, 16)
        self.calls = 0

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        assert images.dtype == torch.uint8
        self.calls += 1
        x = torch.relu(self.conv(images.float() / 127.5 - 1)).mean(dim=(2, 3))
        return self.head(x)


def _images(n: int, seed: int, size: int = 16, shift: float = 0.0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(n, 3, size, size, generator=g) * 2 - 1 + shift).clamp(-1, 1)


# ----------------------------------------------------------------------------------------- R-precision


def test_r_precision_perfect_encoder_is_one() -> None:
    features = torch.randn(300, 16)
    result = r_precision(features, features.clone(), num_candidates=100, num_folds=10)
    assert result["r_precision"].item() == 1.0
    assert result["r_precision_std"].item() == 0.0


def test_r_precision_random_features_is_chance() -> None:
    g = torch.Generator().manual_seed(1)
    images, sentences = torch.randn(3000, 32, generator=g), torch.randn(3000, 32, generator=g)
    result = r_precision(images, sentences, num_candidates=100, num_folds=10)
    assert 0.003 < result["r_precision"].item() < 0.02  # chance is 1 / 100


def test_r_precision_ties_count_as_misses() -> None:
    features = torch.ones(120, 8)
    assert r_precision(features, features, num_candidates=100)["r_precision"].item() == 0.0


def test_r_precision_folds_mean_and_population_std() -> None:
    # one-hot images; own sentence = +image (always ranked first) or -image (always last)
    correct = torch.tensor([1, 1, 1, 0, 0, 0, 1, 1, 1, 0], dtype=torch.bool)
    images = torch.eye(10)
    sentences = torch.where(correct[:, None], images, -images)
    folds = np.array([1.0, 0.5, 0.0, 1.0, 0.5])
    result = r_precision(images, sentences, num_candidates=5, num_folds=5)
    assert result["r_precision"].item() == pytest.approx(folds.mean())
    assert result["r_precision_std"].item() == pytest.approx(np.std(folds))  # numpy: population std
    sample = r_precision(images, sentences, num_candidates=5, num_folds=5, std_ddof=1)
    assert sample["r_precision_std"].item() == pytest.approx(np.std(folds, ddof=1))


def test_mismatch_sampling_avoids_self_and_same_class() -> None:
    class_ids = torch.arange(400) % 7
    class_ids[:20] = -1  # unknown classes exclude nothing but themselves
    indices, valid = sample_mismatched_candidates(class_ids, 99, torch.Generator().manual_seed(0))
    assert indices.shape == (400, 99) and bool(valid.all())
    rows = torch.arange(400)[:, None]
    assert not bool((indices == rows).any())
    known = class_ids[:, None] >= 0
    assert not bool((known & (class_ids[indices] == class_ids[:, None])).any())
    assert all(len(set(row)) == 99 for row in indices.tolist())  # without replacement


def test_mismatch_sampling_large_sets_use_fast_path_correctly() -> None:
    n = 6000  # above the exact-path size: rejection sampling, with exact fallback for the big class
    class_ids = torch.randint(0, 50, (n,), generator=torch.Generator().manual_seed(0))
    class_ids[:4000] = 99  # a class holding two thirds of the samples
    class_ids[-100:] = -1
    indices, valid = sample_mismatched_candidates(class_ids, 99, torch.Generator().manual_seed(1))
    assert bool(valid.all())
    assert not bool((indices == torch.arange(n)[:, None]).any())
    known = class_ids[:, None] >= 0
    assert not bool((known & (class_ids[indices] == class_ids[:, None])).any())
    assert all(len(set(row)) == 99 for row in indices[::7].tolist())
    # uniform: how often each allowed sample is drawn stays within its binomial spread
    by_small_rows = torch.bincount(indices[4000:].flatten(), minlength=n)[:4000].float()  # rejection path
    expected = 2000 * 99 / (n - 40)
    assert abs(by_small_rows.mean().item() - expected) < 1.0
    assert by_small_rows.std().item() < 1.3 * expected**0.5
    by_big_rows = torch.bincount(indices[:4000].flatten(), minlength=n)[4000:].float()  # exact path
    assert by_big_rows.mean().item() == pytest.approx(4000 * 99 / 2000)
    assert by_big_rows.std().item() < 1.3 * 198**0.5


def test_mismatch_sampling_flags_too_few_other_classes() -> None:
    class_ids = torch.tensor([0] * 8 + [1] * 2)
    indices, valid = sample_mismatched_candidates(class_ids, 5, torch.Generator().manual_seed(0))
    assert valid[:8].sum(dim=1).tolist() == [2] * 8  # only two samples of another class
    assert valid[8:].sum(dim=1).tolist() == [5, 5]
    assert bool((class_ids[indices[:8]][valid[:8]] == 1).all())


def test_r_precision_is_deterministic_given_seed() -> None:
    g = torch.Generator().manual_seed(2)
    images, sentences = torch.randn(500, 8, generator=g), torch.randn(500, 8, generator=g)
    sentences = images + 1.5 * sentences  # partly matched: an accuracy between 0 and 1
    first = r_precision(images, sentences, seed=3)["r_precision"].item()
    assert first == r_precision(images, sentences, seed=3)["r_precision"].item()
    assert 0.05 < first < 0.95
    others = {r_precision(images, sentences, seed=s)["r_precision"].item() for s in range(4, 9)}
    assert len(others | {first}) > 1


def test_r_precision_needs_enough_samples() -> None:
    with pytest.raises(ValueError, match="at least 100 samples"):
        r_precision(torch.randn(50, 4), torch.randn(50, 4))


def test_r_precision_metric_matches_function_and_is_rank_order_free() -> None:
    g = torch.Generator().manual_seed(4)
    images = torch.randn(240, 8, generator=g)
    sentences = images + torch.randn(240, 8, generator=g)
    class_ids = torch.arange(240) % 5
    expected = r_precision(images, sentences, class_ids, num_candidates=50, num_folds=4, seed=1)

    metric = RPrecision(num_candidates=50, num_folds=4, seed=1)
    for chunk in torch.arange(240).split(64):
        metric.update(images[chunk], sentences[chunk], class_ids[chunk])
    assert metric.compute()["r_precision"] == expected["r_precision"]

    # two "ranks" with interleaved shards, merged in the wrong order, plus padding duplicates
    ranks = [RPrecision(num_candidates=50, num_folds=4, seed=1) for _ in range(2)]
    for rank, shard in enumerate([torch.arange(1, 240, 2), torch.arange(0, 240, 2)]):
        shard = torch.cat([shard, shard[:1]])  # DistributedSampler-style padding
        ranks[rank].update(images[shard], sentences[shard], class_ids[shard], indices=shard)
    ranks[0].merge_state(ranks[1])
    merged = ranks[0].compute()
    assert merged["r_precision"] == expected["r_precision"]
    assert merged["r_precision_std"] == expected["r_precision_std"]


# ----------------------------------------------------------------------------------------- IS / FID


def test_fid_with_injected_network() -> None:
    extractor = InceptionFeatures(TinyNet())
    assert extractor.num_features == 16
    fid = FrechetInceptionDistance(extractor)
    real = _images(200, seed=0)
    fid.update(real, real=True)
    fid.update(real, real=False)
    same = fid.compute()["fid"].item()
    assert abs(same) < 1e-3

    fid.reset()
    fid.update(real, real=True)
    fid.update(_images(200, seed=1, shift=0.6), real=False)
    different = fid.compute()["fid"].item()
    assert np.isfinite(different) and different > 100 * max(abs(same), 1e-6)


def test_inception_score_identical_predictions_is_one() -> None:
    class Constant(nn.Module):
        def forward(self, images: torch.Tensor) -> torch.Tensor:
            return torch.tensor([[2.0, -1.0, 0.5, 3.0]]).expand(images.shape[0], -1)

    metric = InceptionScore(InceptionFeatures(Constant()), splits=4)
    metric.update(_images(40, seed=0))
    result = metric.compute()
    assert result["inception_score"].item() == pytest.approx(1.0, abs=1e-6)
    assert result["inception_score_std"].item() == pytest.approx(0.0, abs=1e-6)


def test_inception_score_of_confident_balanced_classes_is_number_of_classes() -> None:
    class ByBrightness(nn.Module):
        """Class k (of 4) for images of grey level k, very confidently."""

        def forward(self, images: torch.Tensor) -> torch.Tensor:
            level = (images.float().mean(dim=(1, 2, 3)) / 80).round().long().clamp(0, 3)
            return 30.0 * nn.functional.one_hot(level, 4).float()

    images = torch.cat([torch.full((10, 3, 8, 8), k * 80, dtype=torch.uint8) for k in range(4)])
    metric = InceptionScore(InceptionFeatures(ByBrightness()), splits=2, shuffle=True, seed=0)
    metric.update(images)
    assert 3.0 < metric.compute()["inception_score"].item() <= 4.0 + 1e-6
    ordered = InceptionScore(InceptionFeatures(ByBrightness()), splits=2, shuffle=False)
    ordered.update(images)
    assert ordered.compute()["inception_score"].item() == pytest.approx(
        2.0, rel=1e-4
    )  # each split holds 2 classes


def test_is_and_fid_share_one_forward_pass() -> None:
    net = TinyNet()
    metrics = build_metrics(["is", "fid"], feature_extractor=net, is_splits=2)
    images = _images(8, seed=0)
    calls_after_probe = net.calls
    update_metrics(metrics, images=images, real_images=_images(8, seed=1))
    assert net.calls - calls_after_probe == 2  # generated batch once for both metrics, real batch once
    results, info = compute_metrics(metrics), describe_metrics(metrics)
    assert np.isfinite(results["inception_score"]) and np.isfinite(results["fid"])
    assert "injected" in info["inception_resize"] and info["inception_weights"] == "injected network"
    assert metrics["is"].inception is metrics["fid"].inception
    assert not any(
        "weight" in key for key in metrics["fid"].state_dict()
    )  # fixed weights stay out of checkpoints


def test_missing_weights_raise_with_guidance(empty_torch_home, no_network) -> None:
    with pytest.raises(WeightsNotFoundError) as info:
        InceptionFeatures()
    message = str(info.value)
    assert INCEPTION_WEIGHTS_FILENAME in message
    assert "metrics.inception_weights" in message
    assert str(empty_torch_home / "hub" / "checkpoints") in message
    assert "never downloads" in message


def test_missing_weights_skip_unless_strict(empty_torch_home, no_network, tmp_path) -> None:
    with pytest.warns(MetricSkippedWarning, match=INCEPTION_WEIGHTS_FILENAME):
        metrics = build_metrics(["is", "fid", "r_precision", "shapes_oracle"])
    assert list(metrics) == ["r_precision", "shapes_oracle"]
    with pytest.raises(WeightsNotFoundError):
        build_metrics(["fid"], strict=True)
    with pytest.raises(WeightsNotFoundError, match="nowhere"):  # an explicit path is never ignored
        build_metrics(["fid"], inception_weights=str(tmp_path / "nowhere.pth"))


def test_weights_from_torch_hub_cache_without_network(empty_torch_home, no_network) -> None:
    import torch_fidelity.feature_extractor_inceptionv3 as fidelity

    # A random-weights stand-in for the real file, made without downloading anything.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fidelity, "load_state_dict_from_url", lambda *a, **k: None)
        patch.setattr(fidelity.FeatureExtractorInceptionV3, "load_state_dict", lambda self, *a, **k: None)
        random_inception = fidelity.FeatureExtractorInceptionV3("inception-v3-compat", ["2048"])
    checkpoints = empty_torch_home / "hub" / "checkpoints"
    checkpoints.mkdir(parents=True)
    torch.save(random_inception.state_dict(), checkpoints / INCEPTION_WEIGHTS_FILENAME)
    del random_inception

    with warnings.catch_warnings():
        warnings.simplefilter("error", MetricSkippedWarning)
        metrics = build_metrics(["is", "fid"], is_splits=1)
    extractor = metrics["fid"].inception
    assert extractor.describe()["weights"] == str(checkpoints / INCEPTION_WEIGHTS_FILENAME)
    assert "antialias=False" in extractor.resize and "tensorflow1x" in extractor.resize
    features, logits = extractor(_images(2, seed=0, size=32))
    assert features.shape == (2, 2048) and logits.shape == (2, 1008)
    assert bool(torch.isfinite(features).all())


# ----------------------------------------------------------------------------------------- the registry


def test_registry_declares_direction_and_needs_for_every_result() -> None:
    from attngan.metrics import registry

    known_needs = {
        registry.REAL_IMAGES,
        registry.DAMSM,
        registry.INCEPTION,
        registry.SHAPES_DATA,
        registry.SHAPES_GROUND_TRUTH,
        registry.ATTENTION,
        registry.CLIP,
    }
    names = [r.name for entry in METRICS.values() for r in entry.results]
    assert len(names) == len(set(names))  # one metric owns each result name
    assert (
        tuple(METRICS)
        == METRIC_NAMES
        == (
            "r_precision",
            "clip_r_precision",
            "clip_score",
            "is",
            "fid",
            "shapes_oracle",
            "attention_localisation",
        )
    )
    for entry in METRICS.values():
        assert entry.needs and entry.needs <= known_needs, entry.name
        for result in entry.results:
            assert isinstance(result.higher_is_better, bool), result.name
            assert higher_is_better(result.name) is result.higher_is_better
            assert higher_is_better(f"val/{result.name}") is result.higher_is_better
    assert higher_is_better("fid") is False and higher_is_better("r_precision") is True
    with pytest.raises(KeyError, match="no metric writes"):
        higher_is_better("val/num_images")


def test_every_result_a_metric_writes_is_declared_by_its_entry(tmp_path: Path) -> None:
    from helpers.clip import build_tiny_clip

    batch = 4
    images = _images(batch, seed=0)
    tokens = [["a", "red", "circle"], ["a", "blue", "square"]] * 2
    attention = torch.rand(batch, 3, 8, 8).softmax(dim=1)
    masks = torch.zeros(batch, 16, 16, dtype=torch.long)
    masks[:, 4:12, 4:12] = 1
    objects = [[{"colour": t[1], "shape": t[2]}] for t in tokens]
    metrics = build_metrics(
        list(METRIC_NAMES),
        feature_extractor=TinyNet(),
        is_splits=2,
        num_candidates=2,
        num_folds=1,
        clip_model_path=build_tiny_clip(tmp_path / "clip"),
    )
    assert list(metrics) == list(METRIC_NAMES)
    generator = torch.Generator().manual_seed(0)
    update_metrics(
        metrics,
        MetricInputs(
            images=images,
            real_images=_images(batch, seed=1),
            image_features=torch.randn(batch, 8, generator=generator),
            sentence_features=torch.randn(batch, 8, generator=generator),
            captions=tokens,
            indices=torch.arange(batch),
            attention=attention,
            object_masks=masks,
            objects=objects,
        ),
    )
    for name, metric in metrics.items():
        assert set(metric.compute()) == set(METRICS[name].result_names), name
    assert set(compute_metrics(metrics)) == {r for name in METRIC_NAMES for r in METRICS[name].result_names}
