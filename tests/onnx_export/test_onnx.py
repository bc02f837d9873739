"""ONNX export and OnnxPipeline: the PyTorch pipeline's images within 1e-4 for the same z and ε, without torch."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")

from attngan import AttnGANPipeline  # noqa: E402
from attngan.cli.export import main as export_main  # noqa: E402
from attngan.errors import AttnGANError, CheckpointError, UnknownCaptionError  # noqa: E402
from attngan.models import TextEncoder  # noqa: E402
from attngan.onnx import OnnxPipeline  # noqa: E402
from attngan.onnx.export import ExportableTextEncoder  # noqa: E402

CAPTIONS = ["a large red circle on the left", "a small green square at the top", "blue"]


@pytest.fixture(scope="module")
def pipe(tiny_attngan_checkpoint: Path) -> AttnGANPipeline:
    return AttnGANPipeline.from_checkpoint(tiny_attngan_checkpoint, device="cpu")


@pytest.fixture(scope="module")
def exported(tiny_attngan_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("onnx") / "model"
    export_main([f"checkpoint={tiny_attngan_checkpoint}", "format=onnx", f"output={out}", "opset=18"])
    return out


@pytest.mark.parametrize(("rnn_type", "bidirectional"), [("lstm", True), ("gru", True), ("lstm", False)])
def test_the_exportable_text_encoder_matches_the_packed_one(rnn_type: str, bidirectional: bool) -> None:
    torch.manual_seed(0)
    encoder = TextEncoder(30, 12, 8, rnn_type=rnn_type, bidirectional=bidirectional).eval()
    lengths = torch.tensor([7, 1, 4, 7])
    captions = torch.randint(1, 30, (4, 7)) * (torch.arange(7) < lengths[:, None])
    words, sentence = encoder(captions, lengths)
    words_x, sentence_x = ExportableTextEncoder(encoder, 7).eval()(captions, lengths)
    torch.testing.assert_close(words_x, words, atol=1e-6, rtol=0)
    torch.testing.assert_close(sentence_x, sentence, atol=1e-6, rtol=0)


def test_the_export_records_opset_vocabulary_and_a_dynamic_batch(
    pipe: AttnGANPipeline, exported: Path
) -> None:
    config = json.loads((exported / "onnx_config.json").read_text())
    assert config["opset"] == 18 and config["vocab"] == pipe.vocab.to_list()
    assert config["max_words"] == pipe.max_words and config["image_sizes"] == pipe.image_sizes
    for name in ("text_encoder", "generator"):
        model = onnx.load(str(exported / f"{name}.onnx"))
        assert any(op.version == 18 for op in model.opset_import if op.domain in ("", "ai.onnx"))
        assert [i.name for i in model.graph.input] == config["graphs"][name]["inputs"]
        for value in [*model.graph.input, *model.graph.output]:
            assert value.type.tensor_type.shape.dim[0].dim_param, f"{name}: {value.name} has a fixed batch"
    generator_inputs = {i.name: i for i in onnx.load(str(exported / "generator.onnx")).graph.input}
    assert {"noise", "condition_noise", "word_mask"} <= set(generator_inputs)  # noise is an input


def test_onnx_images_match_the_pytorch_pipeline_for_the_same_noise(
    pipe: AttnGANPipeline, exported: Path
) -> None:
    onnx_pipe = OnnxPipeline(exported)
    z, epsilon = pipe.noise(2, seed=5)
    expected = pipe(CAPTIONS, seed=5, num_images_per_caption=2)
    got = onnx_pipe(
        CAPTIONS, num_images_per_caption=2, batch_size=4, noise=z.numpy(), condition_noise=epsilon.numpy()
    )
    assert got.tokens == expected.tokens and got.unknown_words == expected.unknown_words
    assert got.words_cut == expected.words_cut == [0, 0, 0]
    assert len(got.stage_arrays) == len(expected._stage_tensors) == 6
    for stages_onnx, stages_torch in zip(got.stage_arrays, expected._stage_tensors, strict=True):
        for a, b in zip(stages_onnx, stages_torch, strict=True):
            assert a.shape == tuple(b.shape)
            np.testing.assert_allclose(a, b.numpy(), atol=1e-4, rtol=0)
    for maps_onnx, maps_torch in zip(got.attention, expected.attention, strict=True):
        for a, b in zip(maps_onnx, maps_torch, strict=True):
            np.testing.assert_allclose(a, b.numpy(), atol=1e-4, rtol=0)
    for a, b in zip(got.images, expected.images, strict=True):
        assert a.size == b.size
        assert np.abs(np.asarray(a, np.int16) - np.asarray(b, np.int16)).max() <= 1


def test_onnx_pipeline_runs_without_torch(exported: Path) -> None:
    script = f"""
import sys
import numpy as np
from attngan.onnx import OnnxPipeline
pipe = OnnxPipeline({str(exported)!r})
a = pipe(["a large red circle on the left", "blue zebra"], seed=3, num_images_per_caption=2)
b = pipe(["a large red circle on the left"], seed=3)
c = pipe(["a large red circle on the left"], seed=4)
assert len(a.images) == 4 and a.images[0].size == (64, 64) and a.unknown_words == [[], ["zebra"]]
assert np.array_equal(a.stage_arrays[0][-1], b.stage_arrays[0][-1])  # row k of a seed is image k of every call
assert not np.array_equal(b.stage_arrays[0][-1], c.stage_arrays[0][-1])
assert "torch" not in sys.modules, "OnnxPipeline imported torch"
print("ok")
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]


def test_onnx_pipeline_errors(exported: Path, tmp_path: Path) -> None:
    pipe = OnnxPipeline(exported)
    with pytest.raises(UnknownCaptionError, match="no word this model knows"):
        pipe(["zebra giraffe"])
    with pytest.raises(CheckpointError, match="attngan-export"):
        OnnxPipeline(tmp_path)
    with pytest.raises(AttnGANError, match=r"noise must be \(1, 100\)"):
        pipe(["red"], noise=np.zeros((2, 100), np.float32))


def test_a_gru_model_exports_and_matches(tmp_path: Path) -> None:
    from attngan.models import Generator
    from attngan.onnx import export_onnx
    from attngan.text import Vocabulary

    torch.manual_seed(0)
    vocab = Vocabulary(["a", "red", "blue", "circle", "square"])
    pipe = AttnGANPipeline(
        TextEncoder(len(vocab), 8, 8, rnn_type="gru", bidirectional=False),
        Generator(3, 4, embedding_dim=8, num_residual=1, base_size=8),
        vocab,
        max_words=5,
    )
    export_onnx(tmp_path, pipe.text_encoder, pipe.generator, vocab.to_list(), pipe.max_words, opset=17)
    captions = ["a red circle", "blue square a red circle circle"]  # the second is cut to 5 words
    z, epsilon = pipe.noise(1, seed=2)
    expected = pipe(captions, seed=2)
    got = OnnxPipeline(tmp_path)(captions, noise=z.numpy(), condition_noise=epsilon.numpy())
    assert got.tokens == expected.tokens
    assert got.words_cut == expected.words_cut == [0, 1]  # the known word beyond max_words is reported
    for stages_onnx, stages_torch in zip(got.stage_arrays, expected._stage_tensors, strict=True):
        assert [a.shape[-1] for a in stages_onnx] == [8, 16, 32]
        for a, b in zip(stages_onnx, stages_torch, strict=True):
            np.testing.assert_allclose(a, b.numpy(), atol=1e-4, rtol=0)
