"""Which code made a result: harmrank's version and commit, for the manifest and MLflow.

The version comes from the code revision (setuptools-scm: ``0.1.devN+g<hash>``, with ``.d<date>``
when the working tree had changes). The commit is read from git when harmrank runs from a
checkout, else from the version's ``g<hash>``; ``unknown`` when neither says.
"""

from __future__ import annotations

import re
import subprocess
from functools import cache
from importlib import metadata
from pathlib import Path

HASH = re.compile(r"\+g([0-9a-f]{7,40})")


@cache
def version() -> str:
    """harmrank's installed version."""
    try:
        return metadata.version("harmrank")
    except metadata.PackageNotFoundError:
        return "unknown"


@cache
def code_revision() -> str:
    """The commit harmrank runs from: git's full hash (with ``-dirty`` when files were changed)
    in a checkout, else the short hash in the version, else ``unknown``. Never fails."""
    here = Path(__file__).resolve().parent
    try:
        head = subprocess.run(
            ["git", "-C", str(here), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        changed = subprocess.run(
            ["git", "-C", str(here), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        if re.fullmatch(r"[0-9a-f]{40}", head):
            return head + ("-dirty" if changed else "")
    except (OSError, subprocess.SubprocessError):
        pass
    found = HASH.search(version())
    return found.group(1) if found else "unknown"


def provenance() -> dict[str, str]:
    """``{"version": ..., "revision": ...}`` for a manifest."""
    return {"version": version(), "revision": code_revision()}
