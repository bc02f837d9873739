"""How a model is trained, without Lightning: the training options beyond the release (:mod:`.options`)."""

from attngan.training.options import TrainingOptions, format_departures, recipe_departures

__all__ = ["TrainingOptions", "format_departures", "recipe_departures"]
