"""The package list, found automatically: every package under src/ plus ``attngan.conf`` (mapped from conf/ in
pyproject.toml, which holds everything else). A new subpackage needs no entry anywhere."""

from setuptools import find_packages, setup

setup(packages=[*find_packages("src", include=["attngan", "attngan.*"]), "attngan.conf"])
