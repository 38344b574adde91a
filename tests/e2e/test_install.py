"""harmrank installed from its wheel (not the checkout) runs anywhere: a non-editable install into a
fresh virtual environment, then `harmrank init`, a synthetic world and a monthly run, from folders
outside the checkout with the checkout off the import path.

The new environment borrows the test environment's installed dependencies through a ``.pth`` line
(so the test needs no network and takes seconds to install), but not its harmrank: a folder added by
a ``.pth`` line is not a site folder, so the editable install's finder in it is never run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
import yaml

from scoring.cli.common import EXIT_NOT_FOR_RELEASE, EXIT_RELEASED
from tests.e2e.test_job import lighter

REPO = Path(__file__).resolve().parents[2]
AS_OF = "2026-11-01"
NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", "data", "runs", "build", "wheelhouse", "*.egg-info", "__pycache__", ".*_cache", ".hypo*"
)


def sh(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False
    )


@pytest.mark.slow
def test_a_wheel_installed_elsewhere_runs_outside_the_checkout(tmp_path: Path) -> None:
    # the source as it is now, copied: building in the checkout would leave build/ and egg-info in it
    source = shutil.copytree(REPO, tmp_path / "source", symlinks=True, ignore=NOT_SOURCE)
    build = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", tmp_path]
    built = sh(*build, source, cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    (wheel,) = tmp_path.glob("harmrank-*.whl")
    # the built-in config and catalogue are real files in the wheel, the same as configs/
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        for name in ("default.yaml", "synthetic.yaml", "offences.csv"):
            assert archive.read(f"scoring/defaults/{name}") == (REPO / "configs" / name).read_bytes()
    assert any(n.startswith("scoring/reports/templates/") for n in names)
    assert not any(n.startswith(("tests/", "bench/", "configs/")) for n in names)

    venv = tmp_path / "venv"
    assert sh(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp_path).returncode == 0
    python = venv / "bin" / "python"
    purelib = "import sysconfig; print(sysconfig.get_path('purelib'))"
    site = Path(sh(python, "-c", purelib, cwd=tmp_path).stdout.strip())
    (site / "borrowed-dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    installed = sh(
        sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", "-q", wheel,
        cwd=tmp_path,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr

    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "HARMRANK_CONFIG")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    work = tmp_path / "work"
    work.mkdir()
    which = "import scoring, importlib.metadata as m; print(scoring.__file__, m.version('harmrank'))"
    where = sh(python, "-c", which, cwd=work, env=env)
    module, version = where.stdout.split()
    assert Path(module).is_relative_to(site) and not Path(module).is_relative_to(REPO), where.stdout
    assert wheel.name.startswith(f"harmrank-{version}-")

    harmrank = venv / "bin" / "harmrank"
    shown = sh(harmrank, "--help", cwd=work, env=env)
    assert shown.returncode == 0 and "init" in shown.stdout and "run" in shown.stdout

    assert sh(harmrank, "init", "force", cwd=work, env=env).returncode == 0
    force = work / "force"
    config = force / "configs" / "default.yaml"
    config.write_text(yaml.safe_dump(lighter(yaml.safe_load(config.read_text())), sort_keys=False))
    # no configs/synthetic.yaml nor configs/offences.csv here: the built-in world and catalogue
    world = sh(harmrank, "synth", "--persons", "3000", "--years", "6", "--seed", "3", "--out", "data/records",
               cwd=force, env=env)  # fmt: skip
    assert world.returncode == 0, world.stdout + world.stderr
    assert (force / "data" / "records" / "events.parquet").is_file()

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    ran = sh(harmrank, "run", "--as-of", AS_OF, "--config", config, cwd=elsewhere, env=env)
    assert ran.returncode in (EXIT_RELEASED, EXIT_NOT_FOR_RELEASE), ran.stdout + ran.stderr  # audited
    run = force / "runs" / AS_OF
    for name in ("top100.csv", "top100.xlsx", "manifest.json", "run.log", "report/index.html"):
        assert (run / name).is_file(), name
    # a fresh process imports MLflow during the run: its INFO lines go to the run log, not the console
    assert "INFO mlflow" not in ran.stdout + ran.stderr and "INFO mlflow" in (run / "run.log").read_text()
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["code"]["version"] == version
    assert (force / "data" / "mlflow" / "mlflow.db").is_file()  # the config's relative store, in the folder
    assert list(elsewhere.iterdir()) == []  # nothing written where the command was run
