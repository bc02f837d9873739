"""Load the authors' released AttnGAN files into our networks, and write ours back in their format.

The release (github.com/taoxugit/AttnGAN) publishes plain ``torch.save``'d state dicts of its ``RNN_ENCODER``
(``text_encoder200.pth`` birds, ``text_encoder100.pth`` COCO), ``CNN_ENCODER`` (``image_encoder*.pth``) and
``G_NET`` (``bird_AttnGAN2.pth``, ``coco_AttnGAN2.pth``). Files are read with ``torch.load(weights_only=True)``:
nothing in them is executed. Sizes (vocabulary, widths, number of stages, residual blocks) are read from the
tensor shapes. Files are read and copied by :mod:`attngan.compat.release_files`, key names mapped by
:mod:`attngan.compat.keymaps`; why the mapped networks compute the same functions is argued in
``docs/released-models.md``.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass

import torch

from attngan.compat.keymaps import GENERATOR_RULES, IMAGE_ENCODER_RULES, TEXT_ENCODER_RULES
from attngan.compat.release_files import PathLike, export_mapped, load_mapped, read_release_state_dict
from attngan.data.pickles import read_release_captions
from attngan.errors import CheckpointError, ConfigError, VocabularyMismatchError
from attngan.models import Generator, InceptionImageEncoder, TextEncoder
from attngan.text import Vocabulary

#: Vocabulary sizes (padding id included, i.e. ``len(ixtoword)``) of the authors' ``captions.pickle``.
RELEASE_VOCABULARY_SIZES = {
    5450: "the authors' birds (CUB-200-2011) captions.pickle",
    27297: "the authors' COCO-2014 captions.pickle",
}


def _describe_vocabulary_size(size: int) -> str:
    known = RELEASE_VOCABULARY_SIZES.get(size)
    return f"{size} words" + (f" (the size of {known})" if known else "")


def check_vocabulary_size(encoder_size: int, captions_size: int, path: PathLike) -> None:
    """Fail when a text encoder's embedding table and the captions' vocabulary differ in size.

    Raises:
        VocabularyMismatchError: naming both sizes and, where known, the dataset each belongs to.
    """
    if encoder_size == captions_size:
        return
    raise VocabularyMismatchError(
        f"The text encoder {path} embeds {_describe_vocabulary_size(encoder_size)}, but the captions' vocabulary "
        f"has {_describe_vocabulary_size(captions_size)}. A text encoder only works with the vocabulary it "
        "was trained on: use the captions.pickle of the same dataset (birds: 5450 words, COCO: 27297)."
    )


def load_original_text_encoder(path: PathLike, vocab_size: int | None = None) -> TextEncoder:
    """Build our :class:`~attngan.models.TextEncoder` from a released ``RNN_ENCODER`` state dict.

    Vocabulary size, embedding size, hidden size, LSTM/GRU and directions are read from the shapes.

    Args:
        path: e.g. ``DAMSMencoders/bird/text_encoder200.pth``.
        vocab_size: size of the captions' vocabulary (``len(ixtoword)``, padding included); checked
            against the file when given.

    Returns:
        The text encoder, in eval mode.

    Raises:
        CheckpointError: the file is not an ``RNN_ENCODER`` state dict.
        VocabularyMismatchError: ``vocab_size`` differs from the file's.
    """
    what = "text encoder (RNN_ENCODER)"
    required = ["encoder.weight", "rnn.weight_ih_l0", "rnn.weight_hh_l0"]
    hint = "Pass the authors' text_encoder*.pth (DAMSMencoders/<dataset>/)."
    state = read_release_state_dict(path, what, required, hint)
    file_vocab, embedding_dim = state["encoder.weight"].shape
    hidden_dim = state["rnn.weight_hh_l0"].shape[1]
    gates = state["rnn.weight_ih_l0"].shape[0] // hidden_dim
    if gates not in (3, 4):
        raise CheckpointError(
            f"{path}: rnn.weight_ih_l0 has {gates} gates per unit; expected 4 (LSTM) or 3 (GRU)."
        )
    if vocab_size is not None:
        check_vocabulary_size(file_vocab, vocab_size, path)
    encoder = TextEncoder(
        vocab_size=file_vocab,
        embedding_dim=embedding_dim,
        hidden_dim=hidden_dim,
        rnn_type="lstm" if gates == 4 else "gru",
        bidirectional="rnn.weight_ih_l0_reverse" in state,
    )
    load_mapped(encoder, state, TEXT_ENCODER_RULES, path, what)
    return encoder.eval()


def export_original_text_encoder(encoder: TextEncoder) -> dict[str, torch.Tensor]:
    """Our text encoder as a release ``RNN_ENCODER`` state dict (``torch.save`` it for the release code)."""
    return export_mapped(encoder, TEXT_ENCODER_RULES, "text encoder")


def load_original_image_encoder(path: PathLike) -> InceptionImageEncoder:
    """Build our :class:`~attngan.models.InceptionImageEncoder` from a released ``CNN_ENCODER`` state dict.

    The file holds the whole Inception-v3 trunk as trained (including its drifted BatchNorm statistics),
    so no ImageNet weights are needed. The encoder resizes with ``align_corners=True``, like the release.

    Args:
        path: e.g. ``DAMSMencoders/bird/image_encoder200.pth``.

    Returns:
        The image encoder, in eval mode.

    Raises:
        CheckpointError: the file is not a ``CNN_ENCODER`` state dict.
    """
    what = "image encoder (CNN_ENCODER)"
    required = ["emb_features.weight", "emb_cnn_code.weight", "Mixed_6e.branch1x1.conv.weight"]
    hint = "Pass the authors' image_encoder*.pth (DAMSMencoders/<dataset>/)."
    state = read_release_state_dict(path, what, required, hint)
    embedding_dim = state["emb_cnn_code.weight"].shape[0]
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*RANDOM weights.*")  # every weight is loaded below
        encoder = InceptionImageEncoder(embedding_dim=embedding_dim, pretrained=False, align_corners=True)
    load_mapped(encoder, state, IMAGE_ENCODER_RULES, path, what)
    return encoder.eval()


def export_original_image_encoder(encoder: InceptionImageEncoder) -> dict[str, torch.Tensor]:
    """Our Inception image encoder as a release ``CNN_ENCODER`` state dict."""
    return export_mapped(encoder, IMAGE_ENCODER_RULES, "image encoder")


def _count_indices(state: Mapping[str, torch.Tensor], pattern: str) -> int:
    found = {int(m.group(1)) for k in state if (m := re.match(pattern, k))}
    return max(found) if found else 0


def load_original_generator(
    path: PathLike,
    num_stages: int | None = 3,
    ngf: int | None = None,
    num_residual: int | None = None,
) -> Generator:
    """Build our :class:`~attngan.models.Generator` from a released ``G_NET`` state dict.

    Stages, ngf (GF_DIM), residual blocks (R_NUM), embedding, condition and noise sizes are read from the
    shapes; given values are checked against the file. The generator reproduces the release's padding mask
    (``legacy_attention_mask=True``), which the released weights were trained with.

    Args:
        path: e.g. ``models/bird_AttnGAN2.pth``.
        num_stages: stages expected (3 for AttnGAN2, 2 for AttnGAN1); None accepts the file's.
        ngf: expected GF_DIM (32 birds, 48 COCO); None accepts the file's.
        num_residual: expected R_NUM (2 birds, 3 COCO); None accepts the file's.

    Returns:
        The generator (base size 64), in eval mode.

    Raises:
        CheckpointError: the file is not a ``G_NET`` state dict, or disagrees with a given size.
    """
    what = "generator (G_NET)"
    required = ["ca_net.fc.weight", "h_net1.fc.0.weight", "img_net1.img.0.weight"]
    hint = (
        "Pass the authors' G_NET file (e.g. bird_AttnGAN2.pth); DAMSM encoders load with "
        "load_original_text_encoder / load_original_image_encoder."
    )
    state = read_release_state_dict(path, what, required, hint)
    file_stages = _count_indices(state, r"^img_net(\d+)\.")
    file_ngf = state["img_net1.img.0.weight"].shape[1]
    file_residual = _count_indices(state, r"^h_net2\.residual\.(\d+)\.") + 1 if file_stages > 1 else 0
    if num_stages is not None and num_stages != file_stages:
        raise CheckpointError(
            f"{path} holds a generator with {file_stages} stage(s) (images up to {64 * 2 ** (file_stages - 1)}px), "
            f"but num_stages={num_stages} was requested. Use num_stages={file_stages} "
            "(AttnGAN2 = 3 stages, AttnGAN1 = 2)."
        )
    if ngf is not None and ngf != file_ngf:
        raise CheckpointError(f"{path} has ngf (GF_DIM) = {file_ngf}, but ngf={ngf} was requested.")
    if num_residual is not None and file_stages > 1 and num_residual != file_residual:
        raise CheckpointError(
            f"{path} has {file_residual} residual blocks per stage (R_NUM), but num_residual={num_residual} "
            "was requested."
        )
    ca_weight = state["ca_net.fc.weight"]  # (4 * condition_dim, embedding_dim)
    condition_dim = ca_weight.shape[0] // 4
    z_dim = state["h_net1.fc.0.weight"].shape[1] - condition_dim
    generator = Generator(
        num_stages=file_stages,
        ngf=file_ngf,
        embedding_dim=ca_weight.shape[1],
        z_dim=z_dim,
        condition_dim=condition_dim,
        num_residual=file_residual if file_stages > 1 else (num_residual or 2),
        legacy_attention_mask=True,
        base_size=64,
    )
    load_mapped(generator, state, GENERATOR_RULES, path, what)
    return generator.eval()


def _release_generator_order(key: str) -> tuple[int, int]:
    """Sort key giving G_NET's module order: ca_net, h_net1, img_net1, h_net2, img_net2, ..."""
    match = re.match(r"^(h_net|img_net)(\d+)\.", key)
    if match is None:
        return (0, 0)
    return (int(match.group(2)), 0 if match.group(1) == "h_net" else 1)


def export_original_generator(generator: Generator) -> dict[str, torch.Tensor]:
    """Our generator as a release ``G_NET`` state dict, in G_NET's key order.

    The release code always applies its mis-tiled padding mask, so a generator trained with the fixed mask
    behaves slightly differently there on batches with captions of unequal lengths.

    Raises:
        ConfigError: the generator's first stage is not 64x64 (G_NET always has four up blocks).
    """
    if generator.base_size != 64:
        raise ConfigError(
            f"The release's G_NET starts at 64x64 images; this generator has base_size={generator.base_size} "
            "and cannot be written in its format."
        )
    state = export_mapped(generator, GENERATOR_RULES, "generator")
    return dict(sorted(state.items(), key=lambda item: _release_generator_order(item[0])))


@dataclass
class OriginalModels:
    """The authors' released networks, loaded into ours.

    Attributes:
        vocab: the captions' vocabulary (ids exactly as the release).
        text_encoder: the DAMSM text encoder.
        image_encoder: the DAMSM image encoder, if a file was given.
        generator: the generator (legacy attention mask), if a file was given.
    """

    vocab: Vocabulary
    text_encoder: TextEncoder
    image_encoder: InceptionImageEncoder | None
    generator: Generator | None


def load_original_models(
    captions_path: PathLike,
    text_encoder_path: PathLike,
    image_encoder_path: PathLike | None = None,
    generator_path: PathLike | None = None,
    num_stages: int | None = 3,
) -> OriginalModels:
    """Load a released vocabulary and networks together, checking that they fit each other.

    Args:
        captions_path: the authors' ``captions.pickle`` (read with the restricted unpickler of
            :mod:`attngan.data.pickles`).
        text_encoder_path: ``text_encoder*.pth``.
        image_encoder_path: ``image_encoder*.pth`` (optional).
        generator_path: ``*_AttnGAN2.pth`` (optional).
        num_stages: stages the generator must have; None accepts the file's.

    Returns:
        :class:`OriginalModels`, networks in eval mode.

    Raises:
        VocabularyMismatchError: the text encoder and the captions come from different datasets.
        CheckpointError, DataError, UnsafePickleError: a file is missing or not what it should be.
    """
    _, _, ixtoword, wordtoix = read_release_captions(captions_path)
    vocab = Vocabulary.from_release(ixtoword, wordtoix)
    text_encoder = load_original_text_encoder(text_encoder_path, vocab_size=len(vocab))
    image_encoder = (
        load_original_image_encoder(image_encoder_path) if image_encoder_path is not None else None
    )
    generator = (
        load_original_generator(generator_path, num_stages=num_stages) if generator_path is not None else None
    )
    if generator is not None and generator.embedding_dim != text_encoder.output_dim:
        raise CheckpointError(
            f"{generator_path} expects {generator.embedding_dim}-d text features but {text_encoder_path} "
            f"gives {text_encoder.output_dim}-d ones; the two files do not belong together."
        )
    return OriginalModels(
        vocab=vocab, text_encoder=text_encoder, image_encoder=image_encoder, generator=generator
    )
