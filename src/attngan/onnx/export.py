"""ONNX export of the text encoder and the generator (``attngan-export format=onnx``).

Written to ``<output>/``: ``text_encoder.onnx`` (``captions (B, T) int64, lengths (B,) int64 -> words (B, D, T),
sentence (B, D)``), ``generator.onnx`` (``noise (B, z_dim), condition_noise (B, condition_dim), sentence,
words, word_mask (B, T) bool -> image_0 .. image_{n-1} (B, 3, s, s), attention_1 .. (B, T, h, w)``) and
``onnx_config.json`` (opset, vocabulary, max_words, sizes, input and output names). The batch B is dynamic;
the caption length T is fixed at ``max_words``: the exported text encoder runs its (bi)LSTM/GRU as an unrolled
loop over T steps (packed sequences do not export), with the caption lengths as input, which gives the same
features as :class:`~attngan.models.TextEncoder` (outputs zero at padding, final states at each length).
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from attngan.errors import ConfigError
from attngan.models import Generator, TextEncoder
from attngan.onnx.runtime import ONNX_CONFIG
from attngan.version import __version__

DEFAULT_OPSET = 18
TEXT_INPUTS = ["captions", "lengths"]
TEXT_OUTPUTS = ["words", "sentence"]
GENERATOR_INPUTS = ["noise", "condition_noise", "sentence", "words", "word_mask"]


class _Direction(nn.Module):
    """One direction of a one-layer LSTM/GRU as an explicit loop (weights copied from ``nn.LSTM``/``nn.GRU``)."""

    def __init__(self, rnn: nn.RNNBase, suffix: str, rnn_type: str) -> None:
        super().__init__()
        self.rnn_type = rnn_type
        self.hidden_dim = rnn.hidden_size
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):  # nn.Module.__setattr__ registers them
            setattr(self, name, nn.Parameter(getattr(rnn, f"{name}_l0{suffix}").detach().clone()))

    def forward(self, inputs: Tensor) -> Tensor:
        """``(B, T, E) -> outputs (B, T, H)``, from a zero state, left to right."""
        projected = inputs @ self.weight_ih.t() + self.bias_ih  # (B, T, gates * H)
        hidden = projected[:, 0, : self.hidden_dim] * 0  # (B, H) zeros with a dynamic batch
        cell = hidden
        outputs = []
        for t in range(inputs.shape[1]):
            recurrent = hidden @ self.weight_hh.t() + self.bias_hh  # (B, gates * H)
            if self.rnn_type == "lstm":
                i, f, g, o = (projected[:, t] + recurrent).chunk(4, dim=1)
                cell = torch.sigmoid(f) * cell + torch.sigmoid(i) * torch.tanh(g)
                hidden = torch.sigmoid(o) * torch.tanh(cell)
            else:  # GRU: r, z, n
                xr, xz, xn = projected[:, t].chunk(3, dim=1)
                hr, hz, hn = recurrent.chunk(3, dim=1)
                reset, update = torch.sigmoid(xr + hr), torch.sigmoid(xz + hz)
                candidate = torch.tanh(xn + reset * hn)
                hidden = (1 - update) * candidate + update * hidden
            outputs.append(hidden)
        return torch.stack(outputs, dim=1)


class ExportableTextEncoder(nn.Module):
    """:class:`~attngan.models.TextEncoder` in evaluation mode, without packed sequences, for a fixed width T.

    Args:
        encoder: the trained text encoder (its weights are copied).
        max_words: T, the width every caption is padded to.
    """

    def __init__(self, encoder: TextEncoder, max_words: int) -> None:
        super().__init__()
        self.max_words = int(max_words)
        self.embedding = encoder.embedding
        self.bidirectional = encoder.bidirectional
        self.forward_rnn = _Direction(encoder.rnn, "", encoder.rnn_type)
        self.backward_rnn = (
            _Direction(encoder.rnn, "_reverse", encoder.rnn_type) if encoder.bidirectional else None
        )

    def forward(self, captions: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """``captions (B, T), lengths (B,) -> (words (B, D, T), sentence (B, D))``, as TextEncoder."""
        embedded = self.embedding(captions)  # (B, T, E); dropout is the identity in evaluation
        positions = torch.arange(self.max_words, device=captions.device).unsqueeze(0)  # (1, T)
        valid = positions < lengths.unsqueeze(1)  # (B, T)
        last = (lengths - 1).view(-1, 1, 1)  # (B, 1, 1)
        forward_out = self.forward_rnn(embedded)  # (B, T, H)
        hidden_dim = forward_out.shape[2]
        finals = [forward_out.gather(1, last.expand(-1, 1, hidden_dim)).squeeze(1)]  # (B, H)
        outputs = [forward_out]
        if self.backward_rnn is not None:
            # reverse each caption within its length (padding stays after it): an involution
            order = torch.where(valid, lengths.unsqueeze(1) - 1 - positions, positions)  # (B, T)
            reversed_in = embedded.gather(1, order.unsqueeze(2).expand(-1, -1, embedded.shape[2]))
            backward_rev = self.backward_rnn(reversed_in)  # (B, T, H), step k = word length-1-k
            outputs.append(backward_rev.gather(1, order.unsqueeze(2).expand(-1, -1, hidden_dim)))
            finals.append(backward_rev.gather(1, last.expand(-1, 1, hidden_dim)).squeeze(1))
        words = torch.cat(outputs, dim=2) * valid.unsqueeze(2).to(embedded.dtype)  # (B, T, D), 0 at padding
        return words.transpose(1, 2), torch.cat(finals, dim=1)


class ExportableGenerator(nn.Module):
    """The generator with explicit noise inputs and flat tensor outputs (images, then attention maps)."""

    def __init__(self, generator: Generator) -> None:
        super().__init__()
        self.generator = generator

    def forward(
        self, noise: Tensor, condition_noise: Tensor, sentence: Tensor, words: Tensor, word_mask: Tensor
    ) -> tuple[Tensor, ...]:
        """See the module docstring for the shapes."""
        output = self.generator(noise, sentence, words, word_mask, condition_noise)
        return (*output.images, *output.attention)


def _export(
    model: nn.Module, args: tuple[Tensor, ...], path: Path, inputs: list[str], outputs: list[str], opset: int
) -> None:
    """``torch.onnx.export`` with a dynamic batch (the TorchScript-based exporter: it keeps the batch symbolic
    through the generator's ``view``/``reshape`` calls)."""
    dynamic = {name: {0: "batch"} for name in [*inputs, *outputs]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            args,
            str(path),
            input_names=inputs,
            output_names=outputs,
            dynamic_axes=dynamic,
            opset_version=opset,
            dynamo=False,
        )


def export_onnx(
    output: str | os.PathLike[str],
    text_encoder: nn.Module,
    generator: Generator,
    vocab: list[str],
    max_words: int,
    opset: int = DEFAULT_OPSET,
    metadata: dict[str, Any] | None = None,
) -> Path:
    """Write ``text_encoder.onnx``, ``generator.onnx`` and ``onnx_config.json`` to ``output``.

    Args:
        output: the directory (created).
        text_encoder: a :class:`~attngan.models.TextEncoder`; generator: the (EMA) generator.
        vocab: the words in id order, padding first (``Vocabulary.to_list()``).
        max_words: T, the fixed caption width of the exported text encoder.
        opset: the ONNX opset.
        metadata: the checkpoint's ``"attngan"`` entry (versions), recorded in the config.

    Returns:
        The directory.
    """
    if not isinstance(text_encoder, TextEncoder):
        raise ConfigError(
            f"ONNX export needs an attngan.models.TextEncoder, got {type(text_encoder).__name__}"
        )
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    text_encoder, generator = text_encoder.cpu().eval(), generator.cpu().eval()
    text = ExportableTextEncoder(text_encoder, max_words).eval()
    gen = ExportableGenerator(generator).eval()
    batch, width = 2, int(max_words)
    captions = torch.ones(batch, width, dtype=torch.long)
    lengths = torch.tensor([width, max(1, width // 2)], dtype=torch.long)
    captions[1, lengths[1] :] = 0
    with torch.no_grad():
        words, sentence = text(captions, lengths)
        mask = torch.arange(width).unsqueeze(0) >= lengths.unsqueeze(1)
        noise = torch.zeros(batch, int(generator.z_dim))
        epsilon = torch.zeros(batch, int(generator.condition_dim))
        num_stages = len(generator.image_sizes)
        outputs = [f"image_{i}" for i in range(num_stages)] + [f"attention_{i}" for i in range(1, num_stages)]
        _export(text, (captions, lengths), out / "text_encoder.onnx", TEXT_INPUTS, TEXT_OUTPUTS, opset)
        _export(
            gen,
            (noise, epsilon, sentence, words, mask),
            out / "generator.onnx",
            GENERATOR_INPUTS,
            outputs,
            opset,
        )
    config = {
        "format": "attngan-onnx",
        "format_version": 1,
        "opset": int(opset),
        "attngan_version": __version__,
        "torch_version": str(torch.__version__),
        "trained_with_attngan": (metadata or {}).get("version"),
        "max_words": width,
        "image_sizes": [int(s) for s in generator.image_sizes],
        "z_dim": int(generator.z_dim),
        "condition_dim": int(generator.condition_dim),
        "embedding_dim": int(text_encoder.output_dim),
        "graphs": {
            "text_encoder": {"file": "text_encoder.onnx", "inputs": TEXT_INPUTS, "outputs": TEXT_OUTPUTS},
            "generator": {"file": "generator.onnx", "inputs": GENERATOR_INPUTS, "outputs": outputs},
        },
        "vocab": list(vocab),
    }
    (out / ONNX_CONFIG).write_text(json.dumps(config, indent=1) + "\n")
    return out
