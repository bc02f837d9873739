"""AttnGANPipeline on the tiny trained checkpoint: determinism, fixed noise across captions, unknown words."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from attngan import AttnGANPipeline
from attngan.pipeline import GenerationResult, UnknownCaptionError

RED = "a large red circle on the left"
BLUE = "a large blue circle on the left"


@pytest.fixture(scope="module")
def pipe(tiny_attngan_checkpoint: Path) -> AttnGANPipeline:
    return AttnGANPipeline.from_checkpoint(tiny_attngan_checkpoint, device="cpu")


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image, dtype=np.int16)


def test_result_shapes_and_attention_sizes(pipe: AttnGANPipeline) -> None:
    result = pipe([RED, "a small green square at the top"], seed=0)
    assert isinstance(result, GenerationResult)
    sizes = pipe.image_sizes
    assert sizes == [16, 32, 64]  # TINY_ATTNGAN: shapes_attngan's 3 stages from 16 px
    assert len(result.images) == 2 and all(im.size == (64, 64) for im in result.images)
    assert [[im.size for im in stages] for stages in result.stage_images] == [
        [(16, 16), (32, 32), (64, 64)]
    ] * 2
    assert result.tokens[0] == RED.split()
    assert result.unknown_words == [[], []]
    assert len(result.attention) == 2  # two attention stages, on the 16- and 32-px features
    for stage, side in enumerate((16, 32)):
        for i, tokens in enumerate(result.tokens):
            attention = result.attention[stage][i]
            assert attention.shape == (len(tokens), side, side)  # words x H x W
            # β is normalised over the words at every region
            torch.testing.assert_close(attention.sum(dim=0), torch.ones(side, side), atol=1e-4, rtol=0)
    assert result.noise is not None and result.noise.shape == (2, pipe.z_dim)
    figure = result.attention_figure(0)
    assert isinstance(figure, Image.Image) and figure.width >= 5 * 128


def test_same_seed_same_images_other_seed_other_images(pipe: AttnGANPipeline) -> None:
    torch.manual_seed(1)  # the global random state does not matter (CA's ε comes from the seed too)
    first = pipe(RED, seed=7)
    torch.manual_seed(2)
    again, other = pipe(RED, seed=7), pipe(RED, seed=8)
    assert np.array_equal(pixels(first.images[0]), pixels(again.images[0]))
    assert torch.equal(first.attention[0][0], again.attention[0][0])
    assert not np.array_equal(pixels(first.images[0]), pixels(other.images[0]))


def test_one_word_swap_keeps_the_noise_and_changes_the_image(pipe: AttnGANPipeline) -> None:
    both = pipe([RED, BLUE], seed=3)
    assert torch.equal(both.noise[0], both.noise[1])  # the same noise for every caption: z and CA's ε
    assert torch.equal(both.condition_noise[0], both.condition_noise[1])
    assert both.tokens[0] != both.tokens[1]
    assert not np.array_equal(pixels(both.images[0]), pixels(both.images[1]))
    # a caption's image does not depend on the other captions of the call, nor on the batch size
    alone = pipe(BLUE, seed=3)
    assert torch.equal(alone.noise[0], both.noise[1])
    assert np.abs(pixels(alone.images[0]) - pixels(both.images[1])).max() <= 1
    one_by_one = pipe([RED, BLUE], seed=3, batch_size=1)
    assert all(
        np.abs(pixels(a) - pixels(b)).max() <= 1 for a, b in zip(one_by_one.images, both.images, strict=True)
    )


def test_several_images_per_caption(pipe: AttnGANPipeline) -> None:
    result = pipe([RED, BLUE], seed=0, num_images_per_caption=2)
    assert len(result.images) == 4 and len(result.attention[0]) == 4
    assert torch.equal(result.noise[0], result.noise[2]) and torch.equal(result.noise[1], result.noise[3])
    assert not torch.equal(result.noise[0], result.noise[1])
    assert not np.array_equal(pixels(result.images[0]), pixels(result.images[1]))
    assert result.attention_figure(3).size == result.attention_figure(0).size


def test_unknown_words_are_reported_and_left_out(pipe: AttnGANPipeline) -> None:
    result = pipe(["a large red zebra circle on the left"], seed=0)
    assert result.unknown_words == [["zebra"]]
    assert result.tokens == [RED.split()]  # the model saw the caption without the unknown word
    assert result.attention[0][0].shape[0] == len(result.tokens[0])


@pytest.mark.parametrize("caption", ["zebra unicorn", "   "])
def test_caption_without_known_words_is_an_error_naming_it(pipe: AttnGANPipeline, caption: str) -> None:
    with pytest.raises(UnknownCaptionError) as info:
        pipe([RED, caption], seed=0)
    message = str(info.value)
    assert repr(caption) in message
    assert "vocabulary" in message


def test_long_captions_keep_their_first_max_words(pipe: AttnGANPipeline) -> None:
    long = " ".join([RED] * 5)
    result = pipe(long, seed=0)
    assert len(result.tokens[0]) == pipe.max_words
    assert result.attention[0][0].shape[0] == pipe.max_words


def test_the_pipeline_generates_through_the_one_generate_step(
    pipe: AttnGANPipeline, tiny_attngan_checkpoint
) -> None:
    import attngan.pipeline
    from attngan.checkpoint import load_generator
    from attngan.evaluation import generate, seed_noise

    assert not hasattr(attngan.pipeline, "fixed_condition_noise")  # ε is an argument, not a hook
    z, eps = pipe.noise(2, seed=4)
    assert all(torch.equal(a, b) for a, b in zip((z, eps), seed_noise(2, pipe.z_dim, pipe.condition_dim, 4)))
    result = pipe(RED, seed=4, num_images_per_caption=2)
    ids, lengths, _ = pipe.encode_captions([RED, RED])
    output, sentence, image_global = generate(
        pipe.text_encoder, pipe.generator, ids, lengths, z, eps, image_encoder=pipe.image_encoder
    )
    assert torch.equal(result._stage_tensors[1][-1], output.images[-1][1].float())
    assert sentence.shape[0] == 2 and (image_global is None or image_global.shape == sentence.shape)
    # the pipeline's generator is the EMA generator of the checkpoint
    ema = load_generator(tiny_attngan_checkpoint)
    assert all(
        torch.equal(a, b) for a, b in zip(ema.state_dict().values(), pipe.generator.state_dict().values())
    )
