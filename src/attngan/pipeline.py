"""AttnGANPipeline: a checkpoint turned into a callable from captions to images and attention maps.

from attngan import AttnGANPipeline
pipe = AttnGANPipeline.from_checkpoint("outputs/shapes/attngan.ckpt", device="cpu")
result = pipe(["a large red circle on the left"], seed=0)
result.images[0].save("red_circle.png")
result.attention_figure(0).save("red_circle_attention.png")
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from attngan.errors import AttnGANError, CheckpointError
from attngan.lit.checkpoint import attngan_entry, build_network, safe_load_checkpoint, strip_prefix
from attngan.lit.damsm_module import build_encoders
from attngan.losses.damsm import padding_mask
from attngan.text import Vocabulary, caption_to_tensor

log = logging.getLogger(__name__)


class UnknownCaptionError(AttnGANError):
    """A caption has no word the model knows."""


@dataclass
class GenerationResult:
    """What :class:`AttnGANPipeline` returns. Images are ordered caption-major:
    image ``k`` is caption ``k // num_images_per_caption``.

    Attributes:
        captions: the captions, as given.
        images: final-stage images (PIL), one per generated image.
        stage_images: per image, the image of every stage (increasing size).
        attention: per attention stage, per image, a ``(num_words, H, W)`` tensor of word attention.
        tokens: per caption, the words the model saw (unknown words removed, truncated to ``max_words``).
        unknown_words: per caption, the words not in the vocabulary (reported, never silently dropped).
    """

    captions: list[str]
    images: list[Image.Image]
    stage_images: list[list[Image.Image]]
    attention: list[list[torch.Tensor]]
    tokens: list[list[str]]
    unknown_words: list[list[str]]
    num_images_per_caption: int = 1
    _stage_tensors: list[list[torch.Tensor]] = field(default_factory=list, repr=False)

    def attention_figure(self, index: int, top_k: int = 5) -> Image.Image:
        """Paper Fig. 1/4 style figure for image ``index``: stages in a row, then the top-k attended words."""
        from attngan.viz import attention_figure

        tokens = self.tokens[index // self.num_images_per_caption]
        return attention_figure(
            self._stage_tensors[index], [stage[index] for stage in self.attention], tokens, top_k=top_k
        )


class AttnGANPipeline:
    """Text encoder + EMA generator of an attngan checkpoint, ready to sample.

    Args:
        text_encoder: frozen DAMSM text encoder.
        generator: the (EMA) generator.
        vocab: the vocabulary both were trained with.
        max_words: captions longer than this keep their first ``max_words`` known words.
        image_encoder: the DAMSM image encoder (for evaluation); optional.
        device: where to run.
    """

    def __init__(
        self,
        text_encoder: torch.nn.Module,
        generator: torch.nn.Module,
        vocab: Vocabulary,
        max_words: int = 18,
        image_encoder: torch.nn.Module | None = None,
        device: str | torch.device = "cpu",
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self.device = torch.device(device)
        self.text_encoder = text_encoder.to(self.device).eval()
        self.generator = generator.to(self.device).eval()
        self.image_encoder = image_encoder.to(self.device).eval() if image_encoder is not None else None
        self.vocab = vocab
        self._id_to_word = vocab.to_list()
        self.max_words = int(max_words)
        self.metadata = metadata or {}

    @classmethod
    def from_checkpoint(cls, path: str | Path, device: str | torch.device = "cpu") -> AttnGANPipeline:
        """Load an attngan checkpoint (from ``attngan-train`` or ``attngan-import-original``)."""
        checkpoint = safe_load_checkpoint(path)
        entry = attngan_entry(checkpoint, path, kind="attngan")
        state = checkpoint.get("state_dict", {})
        networks = entry.get("networks", {})
        for name in ("text_encoder", "image_encoder", "generator"):
            if name not in networks:
                raise CheckpointError(f"'{path}' does not describe its {name} (networks.{name} missing)")
        text_encoder, image_encoder = build_encoders(networks, state)
        generator = build_network(networks["generator"])
        prefix = "generator_ema." if any(k.startswith("generator_ema.") for k in state) else "generator."
        generator.load_state_dict(strip_prefix(state, prefix))
        generator.requires_grad_(False)
        config = entry.get("config") or {}
        max_words = int((config.get("data") or {}).get("max_words", 18))
        return cls(
            text_encoder,
            generator,
            Vocabulary.from_list(entry["vocab"]),
            max_words=max_words,
            image_encoder=image_encoder,
            device=device,
            metadata=entry,
        )

    # ------------------------------------------------------------------ encoding
    def encode_captions(
        self, captions: list[str]
    ) -> tuple[torch.Tensor, torch.Tensor, list[list[str]], list[list[str]]]:
        """Captions to ``(ids (B, max_words), lengths (B,), tokens, unknown words)``.

        Raises:
            UnknownCaptionError: a caption has no known word (it names the caption).
        """
        if isinstance(captions, str):
            captions = [captions]
        ids_rows, lengths, tokens, unknowns = [], [], [], []
        for caption in captions:
            ids, unknown = self.vocab.encode(caption)
            if unknown:
                log.warning("caption %r: unknown words %s are left out", caption, unknown)
            if not ids:
                raise UnknownCaptionError(
                    f"caption {caption!r} has no word this model knows"
                    + (f" (unknown: {unknown})" if unknown else " (it is empty)")
                    + f"; the vocabulary has {len(self.vocab) - 1} words, e.g. {self.vocab.to_list()[1:9]}"
                )
            row, length = caption_to_tensor(ids, self.max_words)
            ids_rows.append(row)
            lengths.append(length)
            tokens.append([self._id_to_word[int(t)] for t in row[:length]])
            unknowns.append(unknown)
        return torch.stack(ids_rows), torch.tensor(lengths, dtype=torch.long), tokens, unknowns

    @torch.no_grad()
    def generate(self, captions: torch.Tensor, lengths: torch.Tensor, noise: torch.Tensor) -> Any:
        """Generator output for caption ids ``(B, T)``, lengths ``(B,)`` and noise ``(B, z_dim)``."""
        captions, lengths, noise = captions.to(self.device), lengths.to(self.device), noise.to(self.device)
        words, sentence = self.text_encoder(captions, lengths)
        return self.generator(noise, sentence, words, padding_mask(lengths, captions.shape[1]))

    @property
    def z_dim(self) -> int:
        return int(self.metadata.get("networks", {}).get("generator", {}).get("z_dim", 100))

    def __call__(
        self, captions: list[str] | str, seed: int = 0, num_images_per_caption: int = 1
    ) -> GenerationResult:
        """Images for every caption. The same ``seed`` gives the same noise to every caption, so
        changing one word shows that word's effect (paper Fig. 5)."""
        from attngan.viz import tensor_to_pil

        if isinstance(captions, str):
            captions = [captions]
        if not captions:
            raise AttnGANError("no captions given")
        ids, lengths, tokens, unknown = self.encode_captions(list(captions))
        n = int(num_images_per_caption)
        noise = torch.randn(n, self.z_dim, generator=torch.Generator().manual_seed(int(seed)))
        noise = noise.repeat(len(captions), 1)  # (B * n, z): same noise for every caption
        output = self.generate(ids.repeat_interleave(n, 0), lengths.repeat_interleave(n, 0), noise)
        count = len(captions) * n
        stage_tensors = [[stage[i].float().cpu() for stage in output.images] for i in range(count)]
        attention = [
            [att[i, : int(lengths[i // n])].float().cpu() for i in range(count)] for att in output.attention
        ]
        return GenerationResult(
            captions=list(captions),
            images=[tensor_to_pil(stages[-1]) for stages in stage_tensors],
            stage_images=[[tensor_to_pil(s) for s in stages] for stages in stage_tensors],
            attention=attention,
            tokens=tokens,
            unknown_words=unknown,
            num_images_per_caption=n,
            _stage_tensors=stage_tensors,
        )


__all__ = ["AttnGANPipeline", "GenerationResult", "UnknownCaptionError"]
