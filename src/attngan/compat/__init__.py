"""The authors' released files: their state dicts in our networks, and ours in their format.

Captions pickles are read by :func:`attngan.data.pickles.read_release_captions` (restricted unpickler).
"""

from attngan.compat.original import (
    RELEASE_VOCABULARY_SIZES,
    OriginalModels,
    check_vocabulary_size,
    export_original_generator,
    export_original_image_encoder,
    export_original_text_encoder,
    load_original_generator,
    load_original_image_encoder,
    load_original_models,
    load_original_text_encoder,
)
from attngan.compat.release_files import read_release_state_dict

__all__ = [
    "RELEASE_VOCABULARY_SIZES",
    "OriginalModels",
    "check_vocabulary_size",
    "export_original_generator",
    "export_original_image_encoder",
    "export_original_text_encoder",
    "load_original_generator",
    "load_original_image_encoder",
    "load_original_models",
    "load_original_text_encoder",
    "read_release_state_dict",
]
