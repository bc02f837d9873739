"""Metrics: R-precision, IS/FID wrappers (tiny injected networks, no downloads), the shapes oracle."""

from __future__ import annotations

import socket
import warnings

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw
from torch import nn

from attngan.data import shapes_spec as spec
from attngan.errors import WeightsNotFoundError
from attngan.metrics import (
    INCEPTION_WEIGHTS_FILENAME,
    AttentionLocalisation,
    CaptionObject,
    FrechetInceptionDistance,
    InceptionFeatures,
    InceptionScore,
    MetricSkippedWarning,
    RPrecision,
    ShapesOracle,
    attention_localisation,
    build_metrics,
    check_shapes_images,
    compute_metrics,
    parse_shapes_caption,
    r_precision,
    sample_mismatched_candidates,
    update_metrics,
)

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
    assert result["is"].item() == pytest.approx(1.0, abs=1e-6)
    assert result["is_std"].item() == pytest.approx(0.0, abs=1e-6)


def test_inception_score_of_confident_balanced_classes_is_number_of_classes() -> None:
    class ByBrightness(nn.Module):
        """Class k (of 4) for images of grey level k, very confidently."""

        def forward(self, images: torch.Tensor) -> torch.Tensor:
            level = (images.float().mean(dim=(1, 2, 3)) / 80).round().long().clamp(0, 3)
            return 30.0 * nn.functional.one_hot(level, 4).float()

    images = torch.cat([torch.full((10, 3, 8, 8), k * 80, dtype=torch.uint8) for k in range(4)])
    metric = InceptionScore(InceptionFeatures(ByBrightness()), splits=2, shuffle=True, seed=0)
    metric.update(images)
    assert 3.0 < metric.compute()["is"].item() <= 4.0 + 1e-6
    ordered = InceptionScore(InceptionFeatures(ByBrightness()), splits=2, shuffle=False)
    ordered.update(images)
    assert ordered.compute()["is"].item() == pytest.approx(2.0, rel=1e-4)  # each split holds 2 classes


def test_is_and_fid_share_one_forward_pass() -> None:
    net = TinyNet()
    metrics = build_metrics(["is", "fid"], feature_extractor=net, is_splits=2)
    images = _images(8, seed=0)
    calls_after_probe = net.calls
    update_metrics(metrics, images=images, real_images=_images(8, seed=1))
    assert net.calls - calls_after_probe == 2  # generated batch once for both metrics, real batch once
    results = compute_metrics(metrics)
    assert np.isfinite(results["is"]) and np.isfinite(results["fid"])
    assert "injected" in results["fid_resize"] and results["inception_weights"] == "injected network"
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


# ----------------------------------------------------------------------------------------- shapes oracle


def _render(objects: list[dict], size: int = 64, supersample: int = 1) -> torch.Tensor:
    """A local renderer of the shapes world: uint8 (3, size, size); antialiased when supersampling."""
    big = size * supersample
    image = Image.new("RGB", (big, big), spec.BACKGROUND_RGB)
    draw = ImageDraw.Draw(image)
    for obj in objects:
        fx, fy = spec.POSITIONS[obj["position"]]
        x, y, r = fx * big, fy * big, spec.SIZES[obj.get("size", "large")] * big
        fill = spec.COLOURS[obj["colour"]]
        if obj["shape"] == "circle":
            draw.ellipse((x - r, y - r, x + r, y + r), fill=fill)
        elif obj["shape"] == "square":
            draw.rectangle((x - r, y - r, x + r, y + r), fill=fill)
        else:
            draw.polygon([(x, y - r), (x + r, y + r), (x - r, y + r)], fill=fill)
    if supersample > 1:
        image = image.resize((size, size), Image.Resampling.BOX)
    return torch.from_numpy(np.asarray(image).copy()).permute(2, 0, 1)


def _dataset_images(n: int) -> tuple[torch.Tensor, list[list[str]], list]:
    render = pytest.importorskip("attngan.data.shapes").render_shapes_image
    images, captions, objects = [], [], []
    for i in range(n):
        image, _, objs, caps = render(0, i)
        images.append(torch.from_numpy(np.asarray(image).copy()).permute(2, 0, 1))
        captions.append(caps)
        objects.append(objs)
    return torch.stack(images), captions, objects


@pytest.mark.parametrize(
    ("caption", "expected"),
    [
        ("a small red circle on the left", [("red", "circle", "small", "left")]),
        ("on the left there is a blue square", [("blue", "square", None, "left")]),
        ("a circle that is green, in the middle", [("green", "circle", None, "center")]),
        (
            "on the left is a large white triangle and on the right is a cyan circle",
            [("white", "triangle", "large", "left"), ("cyan", "circle", None, "right")],
        ),
        (
            "an image with an orange square at the top and a purple circle near the bottom",
            [("orange", "square", None, "top"), ("purple", "circle", None, "bottom")],
        ),
    ],
)
def test_parse_shapes_caption(caption: str, expected: list[tuple]) -> None:
    parsed = [(o.colour, o.shape, o.size, o.position) for o in parse_shapes_caption(caption)]
    assert parsed == expected


def test_parse_gives_word_positions() -> None:
    (obj,) = parse_shapes_caption("there is a small red circle, on the left")
    assert (obj.colour_token, obj.shape_token) == (4, 5)  # punctuation does not count as a word


def test_oracle_scores_dataset_images_perfectly() -> None:
    images, captions, _ = _dataset_images(120)
    oracle = ShapesOracle()
    for k in range(len(captions[0])):  # every caption template
        oracle.update(images, [c[k] for c in captions])
    result = oracle.compute()
    for key in ("colour", "position", "shape", "single_object_colour", "single_object_position", "image"):
        assert result[f"{key}_acc"].item() == 1.0, key


def test_oracle_tolerates_blur_and_noise() -> None:
    images, captions, _ = _dataset_images(60)
    x = images.float() / 127.5 - 1
    kernel = torch.tensor([1.0, 2.0, 1.0])
    kernel = (kernel[:, None] * kernel[None]).expand(3, 1, 3, 3) / 16
    x = nn.functional.conv2d(nn.functional.pad(x, (1, 1, 1, 1), mode="replicate"), kernel, groups=3)
    x = x + 0.05 * torch.randn(x.shape, generator=torch.Generator().manual_seed(0))
    oracle = ShapesOracle()
    oracle.update(x.clamp(-1, 1), [c[0] for c in captions])
    result = oracle.compute()
    assert result["colour_acc"].item() == 1.0 and result["position_acc"].item() == 1.0
    assert result["shape_acc"].item() > 0.9


def test_oracle_on_antialiased_float_images_of_other_sizes() -> None:
    scenes = [
        [{"colour": c, "shape": s, "position": p, "size": z}]
        for c, s, p, z in [
            ("red", "circle", "left", "small"),
            ("yellow", "triangle", "top", "large"),
            ("cyan", "square", "center", "small"),
            ("orange", "triangle", "bottom", "small"),
        ]
    ] + [
        [
            {"colour": "red", "shape": "circle", "position": "left"},  # same colour twice
            {"colour": "red", "shape": "square", "position": "right"},
        ]
    ]
    for size in (64, 128):
        images = torch.stack([_render(s, size=size, supersample=4) for s in scenes]).float() / 127.5 - 1
        captions = [
            " and ".join(
                f"a {o.get('size', '')} {o['colour']} {o['shape']} on the {o['position']}" for o in s
            )
            for s in scenes
        ]
        checks = check_shapes_images(images, captions)
        assert all(check.correct for check in checks), (size, checks)


def test_oracle_rejects_wrong_colour_position_and_shape() -> None:
    image = _render([{"colour": "red", "shape": "circle", "position": "left"}])[None]
    oracle = ShapesOracle()
    oracle.update(image.expand(3, -1, -1, -1), ["a blue circle on the left"] * 3)
    assert oracle.compute()["colour_acc"].item() == 0.0
    assert oracle.compute()["position_acc"].item() == 0.0  # no blue pixels: nothing is placed right

    (check,) = check_shapes_images(image, ["a red square on the right"])
    (obj,) = check.objects
    assert (obj.colour_ok, obj.position_ok, obj.shape_ok) == (True, False, False)
    assert obj.predicted_shape == "circle" and obj.predicted_positions == ("left",)


def test_oracle_colour_must_dominate_so_colourful_noise_fails() -> None:
    # blocky noise in palette colours: every colour covers a few percent of the image, none dominates
    palette = torch.tensor(list(spec.COLOURS.values()), dtype=torch.uint8)  # (K, 3)
    generator = torch.Generator().manual_seed(0)
    blocks = palette[torch.randint(len(palette), (8, 16, 16), generator=generator)]  # (B, 16, 16, 3)
    noise = (
        blocks.permute(0, 3, 1, 2).repeat_interleave(4, dim=2).repeat_interleave(4, dim=3)
    )  # (B, 3, 64, 64)
    checks = check_shapes_images(noise, ["a red circle on the left"] * 8)
    coverage = [check.objects[0].area for check in checks]
    assert min(coverage) > 0.03  # red is there, well above min_area ...
    # ... but it is the most-covered colour in about 1 of 8 such images, not in all of them
    assert sum(check.objects[0].colour_ok for check in checks) <= 3

    # a red object next to a larger blue one: "red" alone is not the dominant colour, "red and blue" is
    two = _render(
        [
            {"colour": "red", "shape": "circle", "position": "left", "size": "small"},
            {"colour": "blue", "shape": "square", "position": "right", "size": "large"},
        ]
    )[None]
    (alone,) = check_shapes_images(two, ["a red circle on the left"])
    (both,) = check_shapes_images(two, ["a red circle on the left and a blue square on the right"])
    assert alone.objects[0].colour_ok is False
    assert [o.colour_ok for o in both.objects] == [True, True]


def test_oracle_single_object_accuracies_count_single_captions_only() -> None:
    one = _render([{"colour": "green", "shape": "square", "position": "top"}])
    two = _render(
        [
            {"colour": "blue", "shape": "circle", "position": "left"},
            {"colour": "white", "shape": "square", "position": "right"},
        ]
    )
    oracle = ShapesOracle()
    oracle.update(
        torch.stack([one, two]),
        ["a green square at the top", "a blue circle on the left and a purple square on the right"],
    )
    result = oracle.compute()
    assert result["single_object_colour_acc"].item() == 1.0
    assert result["colour_acc"].item() == pytest.approx(2 / 3)
    assert result["image_acc"].item() == 0.5
    assert int(result["num_objects"]) == 3


def test_attention_localisation() -> None:
    _, captions, objects = _dataset_images(12)
    render = pytest.importorskip("attngan.data.shapes").render_shapes_image
    masks = torch.stack([torch.from_numpy(np.asarray(render(0, i)[1]).copy()) for i in range(12)]).long()
    tokens = [c[0].split() for c in captions]
    num_words, grid = max(len(t) for t in tokens), 32
    cover = nn.functional.interpolate(
        nn.functional.one_hot(masks, 3).permute(0, 3, 1, 2).float(), size=(grid, grid), mode="area"
    )  # (B, 3, grid, grid) share of each cell covered by each label
    # the object each colour / shape word names: written out by hand from the ground truth
    named: list[dict[int, int]] = []
    for words, objs in zip(tokens, objects):
        labels = {}
        for t in range(1, len(words)):
            for k, obj in enumerate(objs, start=1):
                if words[t] == obj.shape and words[t - 1] == obj.colour:
                    labels[t], labels[t - 1] = k, k
        named.append(labels)

    def attention_on(label_for) -> torch.Tensor:
        attention = torch.full((12, num_words, grid, grid), 1e-9)
        for b, labels in enumerate(named):
            for t, k in labels.items():
                target = cover[b, label_for(k)]
                full = (target >= target.max() - 1e-6).float()  # the cells the label covers most
                attention[b, t] = full / full.sum()
        return attention

    inside = attention_localisation(attention_on(lambda k: k), tokens, masks, objects=objects)
    assert int(inside["num_words"]) == sum(2 * len(o) for o in objects) == sum(len(n) for n in named)
    assert inside["attention_localisation"].item() > 0.99
    assert inside["colour_word_localisation"].item() > 0.99
    assert inside["shape_word_localisation"].item() > 0.99

    background = attention_localisation(attention_on(lambda k: 0), tokens, masks, objects=objects)
    assert background["attention_localisation"].item() < 0.01

    uniform = torch.ones(12, num_words, grid, grid) / grid**2
    flat = attention_localisation(uniform, tokens, masks, objects=objects)
    assert flat["attention_localisation"].item() == pytest.approx(flat["uniform_baseline"].item(), rel=1e-5)
    assert flat["uniform_baseline"].item() < 0.2

    metric = AttentionLocalisation()
    metric.update(attention_on(lambda k: k)[:6], tokens[:6], masks[:6], objects=objects[:6])
    metric.update(attention_on(lambda k: k)[6:], tokens[6:], masks[6:], objects=objects[6:])
    assert metric.compute()["attention_localisation"].item() == pytest.approx(
        inside["attention_localisation"].item()
    )


def test_attention_localisation_with_explicit_word_labels() -> None:
    masks = torch.zeros(1, 8, 8, dtype=torch.long)
    masks[0, :4, :4] = 1  # object 1 in the top-left quarter
    attention = torch.zeros(1, 3, 4, 4)
    attention[0, 0, 0, 0] = 1.0  # all inside
    attention[0, 1] = 1 / 16  # uniform: a quarter inside
    result = attention_localisation(
        attention, [["red", "circle", "x"]], masks, word_labels=[{0: (1, "colour"), 1: (1, "shape")}]
    )
    assert result["colour_word_localisation"].item() == pytest.approx(1.0)
    assert result["shape_word_localisation"].item() == pytest.approx(0.25)
    assert parse_shapes_caption("a red thing") == [CaptionObject(colour="red", colour_token=1)]
