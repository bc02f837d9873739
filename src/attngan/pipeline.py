"""AttnGANPipeline: a checkpoint turned into a callable from captions to images and attention maps.

::

    from attngan import AttnGANPipeline
    pipe = AttnGANPipeline.from_checkpoint("outputs/shapes/attngan.ckpt", device="cpu")
    result = pipe(["a large red circle on the left", "a large blue circle on the left"], seed=0)
    result.images[0].save("red_circle.png")           # final stage, PIL
    result.attention_figure(0).save("red_circle_attention.png")

The same ``seed`` gives every caption the same noise, so the two images above differ only by the colour word
(paper Fig. 5). Unknown words are left out and reported in ``result.unknown_words``; a caption with no known
word raises :class:`UnknownCaptionError` naming it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from attngan.checkpoint import (
    attngan_entry,
    build_encoders,
    generator_from_checkpoint,
    safe_load_checkpoint,
    weights_do_not_fit,
)
from attngan.errors import CheckpointError, UnknownCaptionError
from attngan.models.generate import generate, seed_noise
from attngan.models.generator import Generator, GeneratorOutput
from attngan.models.text_encoder import TextEncoder
from attngan.progress import progress as show_progress
from attngan.text import Vocabulary
from attngan.text.captions import EncodedCaptions, encode_captions, generation_request

log = logging.getLogger(__name__)


def resolve_device(device: str | torch.device) -> torch.device:
    """``"auto"``: CUDA when available, else the CPU; anything else as given (``"cpu"``, ``"cuda:1"``)."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


@dataclass
class GenerationResult:
    """What :class:`AttnGANPipeline` returns. Images are ordered caption-major:
    image ``k`` is caption ``k // num_images_per_caption``.

    With one image per caption (the default), "per image" below is "per caption".

    Attributes:
        captions: the captions, as given.
        images: final-stage images (PIL), one per generated image.
        stage_images: per image, the image of every stage (increasing size).
        attention: per attention stage (``num_stages - 1`` of them), per image, a ``(num_words, H, W)`` float
            tensor: β of paper Eq. 2 for the caption's words (each region's values sum to 1 over the words).
        tokens: per caption, the words the model saw (unknown words removed, truncated to ``max_words``).
        unknown_words: per caption, the words not in the vocabulary and the characters no word can hold
            (``é``, ``🙂``): reported, never silently dropped.
        words_cut: per caption, how many of its known words lay beyond ``max_words`` and were cut.
        noise: ``(num_images, z_dim)`` the noise z of every image; image ``k`` of every caption gets the same.
        condition_noise: ``(num_images, condition_dim)`` the conditioning-augmentation ε, shared the same way.
        num_images_per_caption: images per caption.
    """

    captions: list[str]
    images: list[Image.Image]
    stage_images: list[list[Image.Image]]
    attention: list[list[torch.Tensor]]
    tokens: list[list[str]]
    unknown_words: list[list[str]]
    noise: torch.Tensor | None = None
    condition_noise: torch.Tensor | None = None
    num_images_per_caption: int = 1
    words_cut: list[int] = field(default_factory=list)
    _stage_tensors: list[list[torch.Tensor]] = field(default_factory=list, repr=False)

    def attention_figure(
        self, index: int, top_k: int = 5, cell_size: int | None = None, title: bool = True
    ) -> Image.Image:
        """Paper Fig. 1/4 style figure for image ``index``: the stage images in a row, then per attention
        stage the ``top_k`` most attended words, their maps upsampled over the final image, word underneath.

        Args:
            index: the image (caption-major, see the class docstring).
            top_k: words per attention stage.
            cell_size: side of every cell; default the final image size, at least 128 pixels.
            title: write the caption above the figure.
        """
        from attngan.viz import attention_figure

        caption = index // self.num_images_per_caption
        stages = self._stage_tensors[index]
        cell = cell_size or max(128, int(stages[-1].shape[-1]))
        return attention_figure(
            stages,
            [stage[index] for stage in self.attention],
            self.tokens[caption],
            top_k=top_k,
            cell_size=cell,
            title=self.captions[caption] if title else None,
        )


class AttnGANPipeline:
    """Text encoder + EMA generator of an attngan checkpoint, ready to sample.

    Args:
        text_encoder: frozen DAMSM text encoder.
        generator: the (EMA) generator.
        vocab: the vocabulary both were trained with.
        max_words: captions longer than this keep their first ``max_words`` known words.
        image_encoder: the DAMSM image encoder (for evaluation); optional.
        device: where to run (``"auto"``: CUDA when available).
        metadata: the checkpoint's ``"attngan"`` entry (config, networks, vocabulary).
    """

    def __init__(
        self,
        text_encoder: TextEncoder,
        generator: Generator,
        vocab: Vocabulary,
        max_words: int = 18,
        image_encoder: torch.nn.Module | None = None,
        device: str | torch.device = "cpu",
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self.device = resolve_device(device)
        self.text_encoder = text_encoder.to(self.device).eval()
        self.generator = generator.to(self.device).eval()
        self.image_encoder = image_encoder.to(self.device).eval() if image_encoder is not None else None
        self.vocab = vocab
        self.max_words = int(max_words)
        self.metadata = metadata or {}
        self.checkpoint_path: Path | None = (
            None  # the .ckpt it came from (from_checkpoint), for the model card
        )

    @classmethod
    def from_checkpoint(cls, path: str | Path, device: str | torch.device = "cpu") -> AttnGANPipeline:
        """Load an attngan checkpoint (from ``attngan-train`` or ``attngan-import-original``): the frozen
        DAMSM encoders and the EMA generator, in evaluation mode.

        Args:
            path: the ``.ckpt`` file.
            device: ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ... or ``"auto"``.

        Raises:
            CheckpointError: the file is missing, unreadable, or not an AttnGAN checkpoint.
        """
        checkpoint = safe_load_checkpoint(path)
        entry = attngan_entry(checkpoint, path, kind="attngan")
        state = checkpoint.get("state_dict", {})
        networks = entry.get("networks", {})
        for name in ("text_encoder", "generator"):
            if name not in networks:
                raise CheckpointError(f"'{path}' does not describe its {name} (networks.{name} missing)")
        try:
            text_encoder, image_encoder = build_encoders(networks, state)
        except RuntimeError as err:  # load_state_dict: missing / unexpected keys or other shapes
            raise weights_do_not_fit(path, entry, err) from err
        generator = generator_from_checkpoint(checkpoint, path, ema=True)
        config = entry.get("config") or {}
        max_words = int((config.get("data") or {}).get("max_words", 18))
        pipe = cls(
            text_encoder,
            generator,
            Vocabulary.from_list(entry["vocab"]),
            max_words=max_words,
            image_encoder=image_encoder,
            device=device,
            metadata=entry,
        )
        pipe.checkpoint_path = Path(path)
        return pipe

    # ------------------------------------------------------------------ sharing (attngan.hub, docs/sharing.md)
    @classmethod
    def from_pretrained(
        cls,
        path_or_repo_id: str | Path,
        device: str | torch.device = "cpu",
        revision: str | None = None,
        token: str | bool | None = None,
    ) -> AttnGANPipeline:
        """Load a model directory written by :meth:`save_pretrained` / ``attngan-export format=hf``.

        Args:
            path_or_repo_id: a local directory (always used as is) or a Hub repo id ``owner/name``
                (fetched with ``huggingface_hub``; with ``HF_HUB_OFFLINE=1`` only from the local cache).
            device: ``"cpu"``, ``"cuda"``, ... or ``"auto"``.
            revision, token: for a Hub repo id.

        Raises:
            CheckpointError: a file is missing, corrupt or does not fit, or the repo id cannot be fetched.
        """
        from attngan.hub import load_components, resolve_pretrained

        return cls(
            **load_components(resolve_pretrained(path_or_repo_id, revision, token=token)), device=device
        )

    def save_pretrained(
        self, directory: str | Path, evaluation: str | Path | None = None, card: str | None = None
    ) -> Path:
        """Write a shareable model directory: ``config.json``, ``*.safetensors``, ``vocab.json``, ``README.md``.

        Args:
            directory: where to write (created).
            evaluation: a ``metrics.json`` / ``attngan-eval`` output directory for the model card; by default
                the last evaluation of the checkpoint this pipeline was loaded from, if one is found.
            card: a model card to write instead of the generated one.
        """
        from attngan.hub import find_evaluation, save_pretrained

        report = find_evaluation(self.checkpoint_path, evaluation)
        source = self.checkpoint_path.name if self.checkpoint_path else self.metadata.get("source")
        metadata = {**self.metadata, "source": source}
        return save_pretrained(
            directory,
            self.text_encoder,
            self.generator,
            self.vocab,
            self.max_words,
            image_encoder=self.image_encoder,
            metadata=metadata,
            evaluation=report,
            card=card,
        )

    def push_to_hub(self, repo_id: str, private: bool | None = None, token: str | bool | None = None) -> str:
        """Upload :meth:`save_pretrained`'s directory as the Hub model repository ``repo_id`` (needs network and
        a write token); returns the commit URL."""
        from attngan.hub import push_to_hub

        return push_to_hub(self.save_pretrained, repo_id, private=private, token=token)

    # ------------------------------------------------------------------ encoding
    def encode_captions(self, captions: list[str]) -> tuple[torch.Tensor, torch.Tensor, EncodedCaptions]:
        """Captions to ``(ids (B, max_words), lengths (B,), the encoding)``
        (:func:`attngan.text.captions.encode_captions`); unknown and cut words are logged as warnings.

        Raises:
            UnknownCaptionError: a caption has no known word (it names the caption).
        """
        captions = [captions] if isinstance(captions, str) else list(captions)
        encoded = encode_captions(self.vocab, captions, self.max_words)
        for caption, unknown, cut, tokens in zip(
            captions, encoded.unknown, encoded.words_cut, encoded.tokens, strict=True
        ):
            if unknown:
                log.warning("caption %r: unknown words %s are left out", caption, unknown)
            if cut:
                log.warning(
                    "caption %r: the model reads %d words (max_words); the last %d of its %d known words are cut",
                    caption[:80] + ("..." if len(caption) > 80 else ""),
                    self.max_words,
                    cut,
                    len(tokens) + cut,
                )
        return torch.from_numpy(encoded.ids), torch.from_numpy(encoded.lengths), encoded

    def generate(
        self,
        captions: torch.Tensor,
        lengths: torch.Tensor,
        noise: torch.Tensor,
        condition_noise: torch.Tensor | None = None,
    ) -> GeneratorOutput:
        """The :class:`~attngan.models.generator.GeneratorOutput` of a batch (:func:`attngan.models.generate`).

        Args:
            captions: ``(B, T)`` word ids (0 = padding); lengths: ``(B,)``.
            noise: z, ``(B, z_dim)``.
            condition_noise: CA's ε, ``(B, condition_dim)``; ``None`` draws it from the global generator.
        """
        return generate(self.text_encoder, self.generator, captions, lengths, noise, condition_noise)[0]

    @property
    def z_dim(self) -> int:
        """Size of the generator's noise vector."""
        return self.generator.z_dim

    @property
    def image_sizes(self) -> list[int]:
        """Image size of every generator stage (increasing); the last one is the final image."""
        return [int(s) for s in self.generator.image_sizes]

    @property
    def condition_dim(self) -> int:
        """Size of the conditioning-augmentation condition (and of its noise ε)."""
        return self.generator.condition_dim

    def noise(self, num_images_per_caption: int = 1, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
        """The noise of a seed, on the CPU: ``(z (n, z_dim), ε (n, condition_dim))``; row ``k`` is what image
        ``k`` of every caption gets (independent of the captions, their number and the device)."""
        return seed_noise(int(num_images_per_caption), self.z_dim, self.condition_dim, seed)

    def __call__(
        self,
        captions: list[str] | str,
        seed: int = 0,
        num_images_per_caption: int = 1,
        batch_size: int = 32,
        *,
        progress: bool | None = None,
    ) -> GenerationResult:
        """Images, stage images and word attention for every caption.

        The same ``seed`` gives the same noise (z and CA's ε) to every caption, so changing one word shows
        that word's effect (paper Fig. 5); the images of a caption do not depend on the other captions of the
        call, the batch size or the global random state.

        Args:
            captions: one caption or a list.
            seed: seed of the noise.
            num_images_per_caption: images per caption (different noise each).
            batch_size: images per generator forward pass (memory only; results do not change).
            progress: show the generation's progress on stderr (:func:`attngan.progress.progress`); ``None``
                (the default): silent unless ``ATTNGAN_PROGRESS=1``. ``attngan-generate`` turns it on.

        Raises:
            UnknownCaptionError: a caption has no known word (the message names it).
        """
        from attngan.viz import tensor_to_pil

        captions, n = generation_request(captions, num_images_per_caption, batch_size)
        ids, lengths, encoded = self.encode_captions(captions)
        noise, condition_noise = self.noise(n, seed)
        noise = noise.repeat(len(captions), 1)  # (B * n, z_dim): the same rows for every caption
        condition_noise = condition_noise.repeat(len(captions), 1)  # (B * n, condition_dim)
        ids, lengths = ids.repeat_interleave(n, 0), lengths.repeat_interleave(n, 0)  # (B * n, T), (B * n,)
        stage_tensors: list[list[torch.Tensor]] = []
        attention: list[list[torch.Tensor]] = []
        bar = show_progress(total=ids.shape[0], desc="generating images", unit="img", enabled=progress)
        for start in range(0, ids.shape[0], int(batch_size)):
            part = slice(start, start + int(batch_size))
            output = self.generate(ids[part], lengths[part], noise[part], condition_noise[part])
            bar.update(int(output.images[0].shape[0]))
            if not attention:
                attention = [[] for _ in output.attention]
            for i in range(output.images[0].shape[0]):
                length = int(lengths[start + i])
                stage_tensors.append([stage[i].float().cpu() for stage in output.images])
                for maps, stage_maps in zip(attention, output.attention, strict=True):
                    maps.append(stage_maps[i, :length].float().cpu())  # (words, H, W)
        bar.close()
        return GenerationResult(
            captions=captions,
            images=[tensor_to_pil(stages[-1]) for stages in stage_tensors],
            stage_images=[[tensor_to_pil(s) for s in stages] for stages in stage_tensors],
            attention=attention,
            tokens=encoded.tokens,
            unknown_words=encoded.unknown,
            noise=noise,
            condition_noise=condition_noise,
            num_images_per_caption=n,
            words_cut=encoded.words_cut,
            _stage_tensors=stage_tensors,
        )


__all__ = [
    "AttnGANPipeline",
    "GenerationResult",
    "UnknownCaptionError",
    "resolve_device",
]
