"""The group of an image: what must never be on both sides of a train/validation split.

Images that share content or generation inputs are one group: DrawBench's ``001.jpg`` from
Stable Diffusion 1.4, 1.5 and 2.1 (the same prompt and seed); a real photo, its aligned fakes
from every `synth make` generator and their counterparts (all named after the real); the
renders of one prompt by every generator (staged as ``<prompt>__<generator>-N.png``). The rule:
a file's group is its name without folders and extension, cut at the first ``__`` when it has
one. ``split_of(group_key(location))`` then puts a whole group on one side.

Recipes choose the rule with ``data.split_rule``: ``group`` (this one), or ``path``, the rule
before it (a hash of the source folder and file name, which sends DrawBench's twins to both
sides), kept so the models trained with it can be re-evaluated on their own validation split.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from spotfake.data.layouts import is_zip_location, split_zip_location

SPLIT_RULES = ("group", "path")
GROUP_SEPARATOR = "__"


def group_key(location: str) -> str:
    """The group of a file or zip member (see the module doc)."""
    if is_zip_location(location):
        location = split_zip_location(location)[1]
    stem = PurePosixPath(location.replace("\\", "/")).stem
    return stem.split(GROUP_SEPARATOR, 1)[0] if GROUP_SEPARATOR in stem else stem
