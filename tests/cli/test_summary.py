"""What `make train` prints at the end (``python -m attngan.cli.summary``): the oracle table of the final EMA
generator, the two figures beside the checkpoints, the next commands; one clear line when attngan.ckpt is
missing."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from attngan.cli.summary import main, summarize
from attngan.data.shapes import spec
from attngan.errors import ConfigError
from attngan.metrics.shapes_oracle import ShapesOracle
from attngan.viz.attention import MIN_CELL


@pytest.fixture
def trained_root(tmp_path: Path, tiny_attngan_checkpoint: Path) -> Path:
    """A `make train` output folder holding a copy of the session's tiny AttnGAN checkpoint."""
    root = tmp_path / "shapes"
    root.mkdir()
    shutil.copy(tiny_attngan_checkpoint, root / "attngan.ckpt")
    return root


def test_summary_prints_the_oracle_table_and_writes_both_figures(trained_root: Path) -> None:
    started = time.perf_counter()
    text = summarize(trained_root)
    seconds = time.perf_counter() - started
    print(f"summary of the tiny checkpoint: {seconds:.1f} s")  # for docs/results.md

    assert "final EMA generator on 48 test captions (one per test image, seed 0" in text
    for row in ("one object", "colour / side / shape / size", "two objects", "both colours / sides / shapes"):
        assert row in text
    assert "in object: colour / shape words" in text and "uniform" in text
    # which training options the checkpoint's run used (the tiny run is experiment=shapes_attngan)
    assert "recipe: AttnGAN with these training options: model.training.hard_negative_fraction=0.5" in text
    attention, word_swap = (
        trained_root / "figures" / "attention.png",
        trained_root / "figures" / "word_swap.png",
    )
    assert f"attention      {attention}" in text and f"word swap      {word_swap}" in text
    shape_swap = trained_root / "figures" / "shape_swap.png"
    assert f"shape swap     {shape_swap}" in text
    with Image.open(shape_swap) as image:  # three rows: circle, square, triangle
        assert image.size[1] > 3 * MIN_CELL
    with Image.open(attention) as image:
        assert image.size[0] > 5 * MIN_CELL  # five 128-px cells per attention stage, + the scale
    with Image.open(word_swap) as image:
        assert image.size[0] > 4 * MIN_CELL and image.size[1] > 6 * MIN_CELL  # caption + 3 images, 6 rows
    assert f"attngan-eval checkpoint={trained_root / 'attngan.ckpt'} num_images=30000" in text
    assert "attngan-generate checkpoint=" in text and "Traceback" not in text


def test_word_swap_rows_share_the_noise(tiny_attngan_checkpoint: Path) -> None:
    from attngan.evaluation.figures import SWAP_COLOURS, word_swap_example
    from attngan.pipeline import AttnGANPipeline

    pipe = AttnGANPipeline.from_checkpoint(tiny_attngan_checkpoint)
    _, result = word_swap_example(pipe, num_images=2)
    n = result.num_images_per_caption
    assert n == 2 and len(result.captions) == len(SWAP_COLOURS)
    for r in range(1, len(result.captions)):  # rows differ by the caption only
        assert torch.equal(result.noise[r * n : (r + 1) * n], result.noise[:n])
        assert torch.equal(result.condition_noise[r * n : (r + 1) * n], result.condition_noise[:n])
        differ = [a != b for a, b in zip(result.captions[r].split(), result.captions[0].split(), strict=True)]
        assert sum(differ) == 1


def test_quick_check_regenerates_a_missing_shapes_set(tmp_path: Path, tiny_attngan_checkpoint: Path) -> None:
    from attngan.evaluation.quick import quick_shapes_metrics
    from attngan.pipeline import AttnGANPipeline

    pipe = AttnGANPipeline.from_checkpoint(tiny_attngan_checkpoint)
    trained = pipe.metadata["config"]["data"]
    pipe.metadata["config"]["data"] = {**trained, "root": None, "cache_dir": str(tmp_path / "lost-cache")}
    quick = quick_shapes_metrics(pipe, num_images=8)
    assert Path(quick["data_root"]).is_relative_to(tmp_path / "lost-cache")  # generated there again
    assert quick["num_images"] == 8 and 0.0 <= quick["metrics"]["shapes_colour_acc"] <= 1.0

    pipe.metadata["config"]["data"] = {**trained, "name": "cub"}
    with pytest.raises(ConfigError, match="needs the shapes data"):
        quick_shapes_metrics(pipe)


def test_summary_without_attngan_checkpoint_says_what_is_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "damsm.ckpt").write_bytes(b"")
    main([str(tmp_path)])
    out = capsys.readouterr()
    missing = [line for line in out.out.splitlines() if line.startswith("missing:")]
    assert len(missing) == 1 and "only the DAMSM half has run" in missing[0]
    assert f"export_path={tmp_path / 'attngan.ckpt'}" in missing[0] and "attngan-train" in missing[0]
    assert "Traceback" not in out.out + out.err

    empty = tmp_path / "nothing"
    assert "nothing is trained yet; `make train`" in summarize(empty).splitlines()[-1]


def _two_squares(first: str, second: str) -> torch.Tensor:
    image = Image.new("RGB", (64, 64), spec.BACKGROUND_RGB)
    draw = ImageDraw.Draw(image)
    draw.rectangle((4, 20, 28, 44), fill=spec.COLOURS[first])  # left
    draw.rectangle((36, 20, 60, 44), fill=spec.COLOURS[second])  # right
    return torch.from_numpy(np.asarray(image).copy()).permute(2, 0, 1)


def test_oracle_two_object_accuracies_need_both_objects_right() -> None:
    oracle = ShapesOracle()
    images = torch.stack([_two_squares("red", "blue")] * 4)
    oracle.update(
        images,
        [
            "a red square on the left and a blue square on the right",  # both right
            "a red square on the left and a green square on the right",  # one colour wrong
            "a red square on the right and a blue square on the left",  # both sides wrong
            "a red square on the left and a blue circle on the right",  # one shape wrong
        ],
    )
    result = oracle.compute()
    assert result["shapes_two_object_colour_acc"].item() == pytest.approx(3 / 4)
    # a colour not found makes that object's position and shape wrong too (the green square)
    assert result["shapes_two_object_position_acc"].item() == pytest.approx(2 / 4)
    assert result["shapes_two_object_shape_acc"].item() == pytest.approx(2 / 4)
    assert torch.isnan(result["shapes_single_object_colour_acc"])
