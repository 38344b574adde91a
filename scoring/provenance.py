"""Which code and config made a result: harmrank's version and commit, and the config's hash,
for the manifest and the MLflow run's tags.

The version comes from the code revision (setuptools-scm: ``0.1.devN+g<hash>``, with ``.d<date>``
when the working tree had changes). The commit is read from git when harmrank runs from its own
checkout, else from the version's ``g<hash>``; ``unknown`` when neither says. Nothing here raises.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
from collections.abc import Mapping
from functools import cache
from importlib import metadata
from pathlib import Path

SOURCE_ROOT = Path(__file__).resolve().parents[1]  # the checkout (or install) harmrank runs from
HASH = re.compile(r"\+g([0-9a-f]{7,40})")


@cache
def version() -> str:
    """harmrank's installed version."""
    try:
        return metadata.version("harmrank")
    except metadata.PackageNotFoundError:
        return "unknown"


def config_hash(config: Mapping[str, object]) -> str:
    """SHA-256 (hex) of the config's canonical JSON: ``config.model_dump(mode="json")`` with sorted
    keys, no spaces (``separators=(",", ":")``), non-ASCII as is, UTF-8. The run's ``config.json``
    holds the same data: load it and hash it this way to check a run's tag."""
    text = json.dumps(config, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def git_revision(root: Path = SOURCE_ROOT) -> tuple[str, bool | None]:
    """The git commit of harmrank's source (``git rev-parse HEAD``) and whether tracked files differ
    from it; ``("unknown", None)`` outside a git checkout of harmrank (such as an installed wheel
    inside some other repository) or when git is missing or fails. Never raises."""

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, text=True, timeout=20, check=True
        )
        return done.stdout.strip()

    try:
        if Path(git("rev-parse", "--show-toplevel")).resolve() != root.resolve():
            return "unknown", None
        revision = git("rev-parse", "HEAD")
    except Exception:  # git missing, not a checkout, timed out, refused (ownership): unknown
        return "unknown", None
    try:
        return revision, bool(git("status", "--porcelain", "--untracked-files=no"))
    except Exception:
        return revision, None


def code_revision() -> str:
    """The commit harmrank runs from: git's full hash (``-dirty`` when tracked files were changed)
    in its checkout, else the short hash in the version, else ``unknown``."""
    revision, dirty = git_revision()
    if revision != "unknown":
        return revision + ("-dirty" if dirty else "")
    found = HASH.search(version())
    return found.group(1) if found else "unknown"


def provenance() -> dict[str, str]:
    """``{"version": ..., "revision": ...}`` for a manifest."""
    return {"version": version(), "revision": code_revision()}
