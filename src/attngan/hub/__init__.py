"""Shareable model directories (safetensors + ``config.json`` + a model card) and the Hugging Face Hub.

``AttnGANPipeline.save_pretrained(dir)`` / ``attngan-export format=hf`` write one; ``from_pretrained`` reads it
from a local path or a Hub repo id; ``push_to_hub`` uploads it. See docs/sharing.md.
"""

from attngan.hub.model_card import find_evaluation, read_front_matter, render_model_card
from attngan.hub.pretrained import (
    FORMAT,
    FORMAT_VERSION,
    load_components,
    save_pretrained,
)
from attngan.hub.remote import push_to_hub, resolve_pretrained

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "find_evaluation",
    "load_components",
    "push_to_hub",
    "read_front_matter",
    "render_model_card",
    "resolve_pretrained",
    "save_pretrained",
]
