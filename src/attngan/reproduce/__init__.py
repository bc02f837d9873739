"""``make reproduce``: the paper's five empirical claims and the main job's recipe as measurements on the built-in shapes data.

Each study is a config (``conf/study/<name>.yaml``) over the shipped shapes experiments, with no training code
of its own: :mod:`~attngan.reproduce.runs` trains a study's runs with :func:`attngan.training.fit`
(resumable), :mod:`~attngan.reproduce.plan` sizes them to the time budget, :mod:`~attngan.reproduce.probes` and
:mod:`~attngan.reproduce.attention` measure a trained checkpoint (shapes oracle, attention maps),
:mod:`~attngan.reproduce.studies` says what each study runs and keeps, :mod:`~attngan.reproduce.report`
turns the recorded results into ``report.md`` with a verdict per claim, and :mod:`~attngan.reproduce.runner`
puts it together (``attngan-reproduce``). How to run it and what each study measures: docs/reproduce.md.
"""

from attngan.reproduce.report import build_report
from attngan.reproduce.runner import reproduce

__all__ = ["build_report", "reproduce"]
