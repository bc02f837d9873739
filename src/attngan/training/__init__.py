"""How a model is trained: the training entry :func:`fit` (:mod:`.entry`) and the training options beyond the
release (:mod:`.options`). Importing this package does not import Lightning; :func:`fit` does when called."""

from attngan.training.entry import fit
from attngan.training.options import TrainingOptions, format_departures, recipe_departures

__all__ = ["TrainingOptions", "fit", "format_departures", "recipe_departures"]
