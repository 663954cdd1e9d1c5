"""The third-party packages a python grader may import: its read-only view of site-packages.

OpenAI's grader image `2025-05-08` ships numpy, scipy, sympy, pandas, rapidfuzz, scikit-learn,
rouge-score, deepdiff, jsonschema, pydantic, pyyaml, nltk, sqlparse, rdkit, scikit-bio and
ast-grep-py. A grader here sees those of them installed in the server's environment, with
their dependencies, and nothing else of it: never openft itself, the server's other packages
or its `.pth` files.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import metadata
from pathlib import Path

__all__ = ["IMAGE_PACKAGES", "site_entries"]

IMAGE_PACKAGES = (
    "numpy",
    "scipy",
    "sympy",
    "pandas",
    "rapidfuzz",
    "scikit-learn",
    "rouge-score",
    "deepdiff",
    "jsonschema",
    "pydantic",
    "pyyaml",
    "nltk",
    "sqlparse",
    "rdkit",
    "scikit-bio",
    "ast-grep-py",
)
NEVER = frozenset({"openft"})


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirements(dist: metadata.Distribution) -> list[str]:
    from packaging.requirements import InvalidRequirement, Requirement

    names = []
    for line in dist.requires or ():
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            continue
        if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
            names.append(requirement.name)
    return names


def _closure(names: tuple[str, ...]) -> dict[str, metadata.Distribution]:
    found: dict[str, metadata.Distribution] = {}
    queue = list(names)
    while queue:
        name = _canonical(queue.pop())
        if name in found or name in NEVER:
            continue
        try:
            found[name] = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        queue += _requirements(found[name])
    return found


@lru_cache(maxsize=8)
def site_entries(names: tuple[str, ...] = IMAGE_PACKAGES) -> tuple[Path, ...]:
    """The top-level files and folders (modules, packages, .libs, .dist-info) of the named
    distributions and of everything they require, as installed."""
    entries: set[Path] = set()
    for dist in _closure(names).values():
        for file in dist.files or ():
            top = file.parts[0]
            if top in ("..", "__pycache__") or top.endswith(".pth"):
                continue
            entries.add(Path(str(dist.locate_file(top))).absolute())
    return tuple(sorted(entry for entry in entries if entry.exists()))
