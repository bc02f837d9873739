"""Names of our parameters in the authors' released state dicts (``code/model.py`` of the release).

Each network has a list of ``(our pattern, release replacement)`` rules applied to the start of our
state-dict keys; the rest of the key (``weight``, ``bias``, ``running_mean``, ...) is the same on both sides.
The mapping, network by network, is tabulated in ``docs/released-models.md``.
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


def release_key_map(our_keys: Iterable[str], rules: list[Rule], what: str) -> dict[str, str]:
    """Our keys -> the release's, by the first of ``rules`` (``*_RULES`` above) that matches each key."""
    key_map = {}
    for key in our_keys:
        for pattern, replacement in rules:
            new, count = re.subn(pattern, replacement, key, count=1)
            if count:
                key_map[key] = new
                break
        else:
            raise KeyError(f"no release name for {what} key {key!r}")
    return key_map
