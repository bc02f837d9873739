"""OnnxPipeline: captions -> images with onnxruntime, numpy and PIL only (torch is never imported).

::

    from attngan.onnx import OnnxPipeline
    pipe = OnnxPipeline("exported/")                      # written by attngan-export format=onnx
    result = pipe(["a large red circle on the left"], seed=0)
    result.images[0].save("circle.png")

The call mirrors :meth:`attngan.pipeline.AttnGANPipeline.__call__`. Noise: ``noise=`` / ``condition_noise=``
take z ``(n, z_dim)`` and CA's ε ``(n, condition_dim)`` explicitly (row ``k`` for image ``k`` of every caption);
without them ``seed`` draws them with ``numpy.random.default_rng(seed)``, which is *not* the noise
``AttnGANPipeline`` draws for the same seed (torch's generator cannot be reproduced in numpy). To get the
PyTorch pipeline's images exactly, pass ``AttnGANPipeline.noise(n, seed)`` as numpy arrays.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from attngan.errors import AttnGANError, CheckpointError
from attngan.text.captions import EncodedCaptions, encode_captions, generation_request
from attngan.text.vocabulary import Vocabulary

ONNX_CONFIG = "onnx_config.json"


def array_to_pil(image: np.ndarray) -> Image.Image:
    """``(3, H, W)`` float in [-1, 1] -> PIL RGB, exactly as :func:`attngan.viz.tensor_to_pil`."""
    pixels = np.round((np.clip(image.astype(np.float32), -1, 1) + 1) * np.float32(127.5)).astype(np.uint8)
    return Image.fromarray(np.ascontiguousarray(pixels.transpose(1, 2, 0)), mode="RGB")


@dataclass
class OnnxGenerationResult:
    """What :class:`OnnxPipeline` returns; images are caption-major like ``GenerationResult``.

    Attributes:
        captions, tokens, unknown_words, words_cut: as in :class:`attngan.pipeline.GenerationResult`
            (``words_cut``: per caption, how many known words lay beyond ``max_words`` and were cut).
        images: final-stage images (PIL); stage_images: every stage of every image (PIL).
        stage_arrays: per image, ``(3, s, s)`` float32 arrays in [-1, 1], one per stage.
        attention: per attention stage, per image, a ``(num_words, H, W)`` float32 array.
        noise, condition_noise: ``(num_images, z_dim)`` / ``(num_images, condition_dim)`` used.
    """

    captions: list[str]
    images: list[Image.Image]
    stage_images: list[list[Image.Image]]
    stage_arrays: list[list[np.ndarray]]
    attention: list[list[np.ndarray]]
    tokens: list[list[str]]
    unknown_words: list[list[str]]
    noise: np.ndarray
    condition_noise: np.ndarray
    num_images_per_caption: int = 1
    providers: list[str] = field(default_factory=list)
    words_cut: list[int] = field(default_factory=list)


class OnnxPipeline:
    """The exported text encoder and generator of a directory written by ``attngan-export format=onnx``.

    Args:
        directory: holds ``onnx_config.json``, ``text_encoder.onnx``, ``generator.onnx``.
        providers: onnxruntime execution providers (default ``["CPUExecutionProvider"]``).

    Raises:
        CheckpointError: a file is missing or is not what the export writes.
    """

    def __init__(self, directory: str | os.PathLike[str], providers: list[str] | None = None) -> None:
        import onnxruntime as ort

        self.directory = Path(directory)
        path = self.directory / ONNX_CONFIG
        try:
            self.config: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise CheckpointError(
                f"'{self.directory}' has no {ONNX_CONFIG}: pass a directory written by "
                "`attngan-export checkpoint=... format=onnx output=DIR`"
            ) from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise CheckpointError(f"'{path}' is not readable JSON ({err}); export the model again") from err
        if self.config.get("format") != "attngan-onnx":
            raise CheckpointError(f"'{path}' is not an attngan ONNX config; export the model again")
        self.vocab = Vocabulary.from_list(self.config["vocab"])
        self.max_words = int(self.config["max_words"])
        self.z_dim = int(self.config["z_dim"])
        self.condition_dim = int(self.config["condition_dim"])
        self.image_sizes = [int(s) for s in self.config["image_sizes"]]
        self.providers = list(providers or ["CPUExecutionProvider"])
        self.sessions = {}
        for name, graph in self.config["graphs"].items():
            file = self.directory / graph["file"]
            if not file.is_file():
                raise CheckpointError(f"'{file}' is missing; export the model again")
            try:
                self.sessions[name] = ort.InferenceSession(str(file), providers=self.providers)
            except Exception as err:  # onnxruntime raises its own exception types for bad graphs
                raise CheckpointError(f"'{file}' is not a loadable ONNX graph ({err}); export again") from err

    # ------------------------------------------------------------------ encoding
    def encode_captions(self, captions: list[str]) -> EncodedCaptions:
        """Captions to word ids (:func:`attngan.text.captions.encode_captions`).

        Raises:
            UnknownCaptionError: a caption has no known word (it names the caption).
        """
        return encode_captions(self.vocab, captions, self.max_words)

    def noise(self, num_images_per_caption: int = 1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """``(z (n, z_dim), ε (n, condition_dim))`` float32 from ``numpy.random.default_rng(seed)`` (not
        ``AttnGANPipeline.noise``'s: see the module docstring)."""
        drawn = np.random.default_rng(int(seed)).standard_normal(
            (int(num_images_per_caption), self.z_dim + self.condition_dim), dtype=np.float32
        )
        return drawn[:, : self.z_dim], drawn[:, self.z_dim :]

    def generate(
        self, ids: np.ndarray, lengths: np.ndarray, noise: np.ndarray, condition_noise: np.ndarray
    ) -> list[np.ndarray]:
        """One batch through both graphs: ``[image_0, ..., attention_1, ...]`` as numpy arrays."""
        words, sentence = self.sessions["text_encoder"].run(None, {"captions": ids, "lengths": lengths})
        mask = np.arange(self.max_words)[None, :] >= lengths[:, None]  # (B, T), True at padding
        feeds = {
            "noise": noise.astype(np.float32),
            "condition_noise": condition_noise.astype(np.float32),
            "sentence": sentence,
            "words": words,
            "word_mask": mask,
        }
        return self.sessions["generator"].run(None, feeds)

    def __call__(
        self,
        captions: list[str] | str,
        seed: int = 0,
        num_images_per_caption: int = 1,
        batch_size: int = 32,
        noise: np.ndarray | None = None,
        condition_noise: np.ndarray | None = None,
    ) -> OnnxGenerationResult:
        """Images, stage images and word attention for every caption (see the module docstring for noise).

        Args:
            captions: one caption or a list.
            seed: seed of the numpy noise, when ``noise``/``condition_noise`` are not given.
            num_images_per_caption: images per caption.
            batch_size: images per graph run (memory only).
            noise: z, ``(num_images_per_caption, z_dim)``: row ``k`` for image ``k`` of every caption.
            condition_noise: CA's ε, ``(num_images_per_caption, condition_dim)``.

        Raises:
            UnknownCaptionError: a caption has no known word.
        """
        captions, n = generation_request(captions, num_images_per_caption, batch_size)
        drawn_z, drawn_e = self.noise(n, seed)
        z = drawn_z if noise is None else np.asarray(noise, dtype=np.float32)
        e = drawn_e if condition_noise is None else np.asarray(condition_noise, dtype=np.float32)
        for name, array, dim in (("noise", z, self.z_dim), ("condition_noise", e, self.condition_dim)):
            if array.shape != (n, dim):
                raise AttnGANError(
                    f"{name} must be ({n}, {dim}) = (num_images_per_caption, size), got {array.shape}"
                )
        encoded = self.encode_captions(captions)
        z, e = np.tile(z, (len(captions), 1)), np.tile(e, (len(captions), 1))  # (B * n, ...)
        ids, lengths = np.repeat(encoded.ids, n, axis=0), np.repeat(encoded.lengths, n, axis=0)
        num_stages = len(self.image_sizes)
        stage_arrays: list[list[np.ndarray]] = []
        attention: list[list[np.ndarray]] = [[] for _ in range(num_stages - 1)]
        for start in range(0, ids.shape[0], int(batch_size)):
            part = slice(start, start + int(batch_size))
            outputs = self.generate(ids[part], lengths[part], z[part], e[part])
            images, maps = outputs[:num_stages], outputs[num_stages:]
            for i in range(images[0].shape[0]):
                stage_arrays.append([stage[i] for stage in images])
                for stage_maps, out in zip(maps, attention, strict=True):
                    out.append(stage_maps[i, : int(lengths[start + i])])
        return OnnxGenerationResult(
            captions=captions,
            images=[array_to_pil(stages[-1]) for stages in stage_arrays],
            stage_images=[[array_to_pil(s) for s in stages] for stages in stage_arrays],
            stage_arrays=stage_arrays,
            attention=attention,
            tokens=encoded.tokens,
            unknown_words=encoded.unknown,
            noise=z,
            condition_noise=e,
            num_images_per_caption=n,
            providers=self.providers,
            words_cut=encoded.words_cut,
        )
