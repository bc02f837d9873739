"""Names of our parameters in the authors' released state dicts (``code/model.py`` of the release).

Each network has a list of ``(our pattern, release replacement)`` rules applied to the start of our
state-dict keys; the rest of the key (``weight``, ``bias``, ``running_mean``, ...) is the same on both sides.

==========================================================  ===========================================
ours (:class:`~attngan.models.Generator`)                    release (``G_NET``)
==========================================================  ===========================================
``conditioning.fc``                                          ``ca_net.fc``
``initial_stage.fc`` / ``initial_stage.bn``                  ``h_net1.fc.0`` / ``h_net1.fc.1``
``initial_stage.upsample.{k}.conv`` / ``.bn``                ``h_net1.upsample{k+1}.1`` / ``.2``
``refinement_stages.{s}.attention.word_projection``          ``h_net{s+2}.att.conv_context``
``refinement_stages.{s}.residual.{r}.conv1/bn1/conv2/bn2``   ``h_net{s+2}.residual.{r}.block.0/1/3/4``
``refinement_stages.{s}.upsample.conv`` / ``.bn``            ``h_net{s+2}.upsample.1`` / ``.2``
``image_heads.{s}.conv``                                     ``img_net{s+1}.img.0``
==========================================================  ===========================================

Text encoder (``RNN_ENCODER``): ``embedding`` -> ``encoder``, ``rnn.*`` unchanged. Image encoder
(``CNN_ENCODER``): ``backbone.<block>`` -> ``<block>`` (torchvision Inception-v3 names), ``region_head`` ->
``emb_features``, ``global_head`` -> ``emb_cnn_code``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

Replacement = str | Callable[[re.Match[str]], str]
Rule = tuple[str, Replacement]

TEXT_ENCODER_RULES: list[Rule] = [
    (r"^embedding\.", "encoder."),
    (r"^rnn\.", "rnn."),
]

IMAGE_ENCODER_RULES: list[Rule] = [
    (r"^backbone\.", ""),
    (r"^region_head\.", "emb_features."),
    (r"^global_head\.", "emb_cnn_code."),
]

_RESIDUAL_LAYERS = {"conv1": 0, "bn1": 1, "conv2": 3, "bn2": 4}  # ResBlock.block: conv, BN, GLU, conv, BN


def _stage(match: re.Match[str], offset: int) -> int:
    return int(match.group(1)) + offset


GENERATOR_RULES: list[Rule] = [
    (r"^conditioning\.fc\.", "ca_net.fc."),
    (r"^initial_stage\.fc\.", "h_net1.fc.0."),
    (r"^initial_stage\.bn\.", "h_net1.fc.1."),
    (r"^initial_stage\.upsample\.(\d+)\.conv\.", lambda m: f"h_net1.upsample{_stage(m, 1)}.1."),
    (r"^initial_stage\.upsample\.(\d+)\.bn\.", lambda m: f"h_net1.upsample{_stage(m, 1)}.2."),
    (
        r"^refinement_stages\.(\d+)\.attention\.word_projection\.",
        lambda m: f"h_net{_stage(m, 2)}.att.conv_context.",
    ),
    (
        r"^refinement_stages\.(\d+)\.residual\.(\d+)\.(conv1|bn1|conv2|bn2)\.",
        lambda m: f"h_net{_stage(m, 2)}.residual.{m.group(2)}.block.{_RESIDUAL_LAYERS[m.group(3)]}.",
    ),
    (r"^refinement_stages\.(\d+)\.upsample\.conv\.", lambda m: f"h_net{_stage(m, 2)}.upsample.1."),
    (r"^refinement_stages\.(\d+)\.upsample\.bn\.", lambda m: f"h_net{_stage(m, 2)}.upsample.2."),
    (r"^image_heads\.(\d+)\.conv\.", lambda m: f"img_net{_stage(m, 1)}.img.0."),
]


def _apply_rules(key: str, rules: list[Rule], what: str) -> str:
    for pattern, replacement in rules:
        new, count = re.subn(pattern, replacement, key, count=1)
        if count:
            return new
    raise KeyError(f"no release name for {what} key {key!r}")


def text_encoder_key_map(our_keys: Iterable[str]) -> dict[str, str]:
    """Our :class:`~attngan.models.TextEncoder` keys -> release ``RNN_ENCODER`` keys."""
    return {k: _apply_rules(k, TEXT_ENCODER_RULES, "text encoder") for k in our_keys}


def image_encoder_key_map(our_keys: Iterable[str]) -> dict[str, str]:
    """Our :class:`~attngan.models.InceptionImageEncoder` keys -> release ``CNN_ENCODER`` keys."""
    return {k: _apply_rules(k, IMAGE_ENCODER_RULES, "image encoder") for k in our_keys}


def generator_key_map(our_keys: Iterable[str]) -> dict[str, str]:
    """Our :class:`~attngan.models.Generator` keys -> release ``G_NET`` keys."""
    return {k: _apply_rules(k, GENERATOR_RULES, "generator") for k in our_keys}
