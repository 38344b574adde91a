"""Run directories appear whole or not at all, readable by the owner only."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from scoring.io import atomic_directory


def test_complete_block_replaces_target(tmp_path: Path) -> None:
    target = tmp_path / "runs" / "2026-11-01"
    target.mkdir(parents=True)
    (target / "old.txt").write_text("old")
    with atomic_directory(target) as staging:
        (staging / "top100.csv").write_text("new")
    assert sorted(p.name for p in target.iterdir()) == ["top100.csv"]
    assert sorted(p.name for p in target.parent.iterdir()) == ["2026-11-01"]
    assert stat.S_IMODE((target / "top100.csv").stat().st_mode) == 0o600
    assert stat.S_IMODE(target.stat().st_mode) == 0o700


def test_failed_block_leaves_target_untouched(tmp_path: Path) -> None:
    target = tmp_path / "2026-11-01"
    target.mkdir()
    (target / "old.txt").write_text("old")
    with pytest.raises(RuntimeError), atomic_directory(target) as staging:
        (staging / "half.csv").write_text("half")
        raise RuntimeError("crash")
    assert [p.name for p in target.iterdir()] == ["old.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2026-11-01"]
