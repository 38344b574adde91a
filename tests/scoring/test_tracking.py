"""The tags naming the code revision and the config that every MLflow run carries."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
from pathlib import Path

from scoring.config import RunConfig
from scoring.provenance import SOURCE_ROOT, config_hash, git_revision
from scoring.tracking import CONFIG_HASH_TAG, REVISION_TAG, provenance


def test_config_hash_is_the_sha256_of_the_sorted_canonical_json() -> None:
    data = RunConfig().model_dump(mode="json")
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert config_hash(data) == hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    reordered = dict(reversed(list(data.items())))
    assert config_hash(reordered) == config_hash(data)  # key order does not matter
    changed = RunConfig.model_validate({"seed": data["seed"] + 1}).model_dump(mode="json")
    assert config_hash(changed) != config_hash(data)
    # as a run's config.json stores it, read back
    assert config_hash(json.loads(json.dumps(data, indent=2, default=str, sort_keys=True))) == config_hash(
        data
    )


def test_code_revision_is_the_checkouts_head_or_unknown(tmp_path: Path) -> None:
    revision, dirty = git_revision()
    if (SOURCE_ROOT / ".git").exists():
        head = subprocess.run(
            ["git", "-C", str(SOURCE_ROOT), "rev-parse", "HEAD"], capture_output=True, text=True
        )
        assert revision == head.stdout.strip() and re.fullmatch(r"[0-9a-f]{40}", revision)
        assert dirty in (True, False)
    assert git_revision(tmp_path) == ("unknown", None)  # not a git checkout: never fails
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    inner = tmp_path / "harmrank"
    inner.mkdir()
    assert git_revision(inner) == ("unknown", None)  # inside another repository: not harmrank's revision
    tags = provenance({"seed": 1})
    assert tags[REVISION_TAG] == revision and tags[CONFIG_HASH_TAG] == config_hash({"seed": 1})


def test_the_manifest_names_the_commit_and_version() -> None:
    from scoring.provenance import code_revision, version
    from scoring.provenance import provenance as code

    revision, dirty = git_revision()
    assert code() == {"version": version(), "revision": code_revision()}
    if revision != "unknown":  # a checkout: the full hash, marked when tracked files were changed
        assert code_revision() == revision + ("-dirty" if dirty else "")
        assert re.fullmatch(r"0\.\d+\.\d+(\.dev\d+)?\+g[0-9a-f]+(\.d\d{8})?", version())
