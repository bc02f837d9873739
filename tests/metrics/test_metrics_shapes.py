"""The shapes oracle (colour, position, shape, size), its caption grammar, and attention localisation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw
from torch import nn

from attngan.data.shapes import CaptionObject, parse_shapes_caption, render_shapes_image, shapes_split, spec
from attngan.metrics import AttentionLocalisation, ShapesOracle
from attngan.metrics.shapes_oracle import check_shapes_images


def attention_localisation(*args, **kwargs) -> dict[str, torch.Tensor]:
    """One batch through :class:`AttentionLocalisation`."""
    metric = AttentionLocalisation()
    metric.update(*args, **kwargs)
    return metric.compute()


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
    images, captions, objects = [], [], []
    for i in range(n):
        image, _, objs, caps = render_shapes_image(0, i)
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
        assert result[f"shapes_{key}_acc"].item() == 1.0, key
    for key in ("size", "single_object_size"):
        assert result[f"shapes_{key}_acc"].item() == 1.0, key


def test_oracle_size_is_right_on_the_shapes_experiment_test_images() -> None:
    """The 400 test images of ``experiment=shapes_*`` (2,000 images, seed 0): size accuracy is 100 %.

    Each image is judged against the one of its captions that names the most sizes (the captions leave a size
    out now and then); every caption template is checked by the test above on 120 images.
    """
    _, test_keys = shapes_split(num_images=2000, seed=0)
    assert len(test_keys) == 400
    images, captions, num_objects = [], [], 0
    for key in test_keys:
        image, _, objects, texts = render_shapes_image(0, int(key.removeprefix("shape_")))
        images.append(torch.from_numpy(np.asarray(image).copy()).permute(2, 0, 1))
        captions.append(
            max(texts, key=lambda text: sum(o.size is not None for o in parse_shapes_caption(text)))
        )
        num_objects += len(objects)
    checks = check_shapes_images(torch.stack(images), captions)
    sized = [o for check in checks for o in check.objects if o.expected.size is not None]
    assert len(sized) >= 0.95 * num_objects  # nearly every object is judged on size
    assert all(o.size_ok for o in sized)
    # the measured half-extents keep well clear of the halfway threshold between the sizes (0.15)
    for size, low, high in (("small", 0.09, 0.14), ("large", 0.17, 0.23)):
        extents = [o.half_extent for o in sized if o.expected.size == size]
        assert extents and low < min(extents) and max(extents) < high, (size, min(extents), max(extents))


def test_oracle_judges_size_and_counts_it_apart_from_image_acc() -> None:
    large = _render([{"colour": "red", "shape": "circle", "position": "left", "size": "large"}])[None]
    (wrong,) = check_shapes_images(large, ["a small red circle on the left"])
    assert wrong.objects[0].size_ok is False and wrong.objects[0].predicted_size == "large"
    assert wrong.correct  # image_acc judges colour, position and shape only
    (synonym,) = check_shapes_images(large, ["a big red circle on the left"])
    assert synonym.objects[0].size_ok is True
    (unnamed,) = check_shapes_images(large, ["a red circle on the left"])
    assert unnamed.objects[0].size_ok is None and unnamed.objects[0].predicted_size == "large"
    (absent,) = check_shapes_images(large, ["a large blue circle on the left"])
    assert absent.objects[0].size_ok is False  # no blue pixels: the size is not right either

    one = _render([{"colour": "green", "shape": "square", "position": "top", "size": "small"}])
    two = _render(
        [
            {"colour": "blue", "shape": "circle", "position": "left", "size": "large"},
            {"colour": "white", "shape": "square", "position": "right", "size": "small"},
        ]
    )
    oracle = ShapesOracle()
    oracle.update(
        torch.stack([one, two, one]),
        [
            "a small green square at the top",
            "a large blue circle on the left and a large white square on the right",
            "a green square at the top",  # no size named: no size trial
        ],
    )
    result = oracle.compute()
    assert result["shapes_size_acc"].item() == pytest.approx(2 / 3)
    assert result["shapes_single_object_size_acc"].item() == 1.0
    assert result["shapes_image_acc"].item() == 1.0


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
    assert result["shapes_colour_acc"].item() == 1.0 and result["shapes_position_acc"].item() == 1.0
    assert result["shapes_shape_acc"].item() > 0.9
    assert result["shapes_size_acc"].item() == 1.0


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
    assert oracle.compute()["shapes_colour_acc"].item() == 0.0
    assert oracle.compute()["shapes_position_acc"].item() == 0.0  # no blue pixels: nothing is placed right

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
    assert result["shapes_single_object_colour_acc"].item() == 1.0
    assert result["shapes_colour_acc"].item() == pytest.approx(2 / 3)
    assert result["shapes_image_acc"].item() == 0.5
    assert int(result["shapes_num_objects"]) == 3


def test_attention_localisation() -> None:
    _, captions, objects = _dataset_images(12)
    masks = torch.stack(
        [torch.from_numpy(np.asarray(render_shapes_image(0, i)[1]).copy()) for i in range(12)]
    ).long()
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
    assert (
        int(inside["attention_num_words"]) == sum(2 * len(o) for o in objects) == sum(len(n) for n in named)
    )
    assert inside["attention_localisation"].item() > 0.99
    assert inside["attention_colour_word_localisation"].item() > 0.99
    assert inside["attention_shape_word_localisation"].item() > 0.99

    background = attention_localisation(attention_on(lambda k: 0), tokens, masks, objects=objects)
    assert background["attention_localisation"].item() < 0.01

    uniform = torch.ones(12, num_words, grid, grid) / grid**2
    flat = attention_localisation(uniform, tokens, masks, objects=objects)
    assert flat["attention_localisation"].item() == pytest.approx(
        flat["attention_uniform_baseline"].item(), rel=1e-5
    )
    assert flat["attention_uniform_baseline"].item() < 0.2

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
    assert result["attention_colour_word_localisation"].item() == pytest.approx(1.0)
    assert result["attention_shape_word_localisation"].item() == pytest.approx(0.25)
    assert parse_shapes_caption("a red thing") == [CaptionObject(colour="red", colour_token=1)]
