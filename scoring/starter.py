"""`harmrank init DIR`: a force's working folder, laid out as harmrank's own checkout is.

::

    DIR/configs/default.yaml   the force's run configuration: harmrank's defaults with every key and
                               its comment, records under data/records; edited by the analyst
    DIR/data/records/          where the force's records go (README.md says which files)
    DIR/runs/                  each run writes runs/<as-of date>/
    DIR/docs/                  the data contract and the feature catalogue of this version

Commands run inside DIR find ``configs/default.yaml`` by themselves; from anywhere else they take
``--config DIR/configs/default.yaml`` (or ``HARMRANK_CONFIG``), and the config's relative paths are
taken from DIR either way (``root: ..``). ``data/`` and ``runs/`` will hold personal data, so they are
owner-only. An existing config is never overwritten.
"""

from __future__ import annotations

from pathlib import Path

from features.catalogue_doc import catalogue_markdown
from features.errors import ConfigError
from features.records.contract_doc import contract_markdown
from features.records.schema import TABLES
from scoring.defaults import RUN_CONFIG
from scoring.io import private_dir
from scoring.provenance import version

RECORDS = Path("data/records")
CONFIG = Path("configs/default.yaml")
_DEFAULT_HEAD = "# harmrank monthly job: the default configuration."
_DEFAULT_DATA = "data_dir: data/world           # records directory (used when --data is not given)"
_FORCE_DATA = "data_dir: data/records         # the force's records (used when --data is not given)"


def starter_config() -> str:
    """The text of a force's first config: harmrank's default configuration, every key and comment
    kept, saying which version it came from, its records in ``data/records``."""
    text = RUN_CONFIG.read_text(encoding="utf-8")
    for old in (_DEFAULT_HEAD, _DEFAULT_DATA):
        if text.count(old) != 1:  # the built-in config changed shape: this must be mended with it
            raise AssertionError(f"the built-in config {RUN_CONFIG} no longer has the line {old!r} once")
    head = f"# harmrank monthly job: this force's configuration (from harmrank {version()}'s defaults)."
    return text.replace(_DEFAULT_HEAD, head).replace(_DEFAULT_DATA, _FORCE_DATA)


def records_readme() -> str:
    """What goes into ``data/records``: one file per table of the data contract."""
    lines = [
        "# The force's records",
        "",
        "One file per table, named `<table>.csv`, `<table>.csv.gz` or `<table>.parquet`:",
        "",
    ]
    for name, table in TABLES.items():
        kind = "required" if table.required else "optional"
        columns = ", ".join(f"`{column.name}`" for column in table.columns)
        lines.append(f"- `{name}` ({kind}): {columns}{', and more' if table.extra_columns else ''}")
    lines += [
        "",
        "Without an `offences` file harmrank uses its own catalogue (CCHI subgroup medians); without",
        "`protected` there is no equality audit, and the run says the list is not audited.",
        "Every column's type and rules: ../../docs/data-contract.md. Check the files with",
        "`harmrank validate data/records` before the first run.",
        "",
        "Or leave this folder empty and read the tables from the force's database:",
        "`harmrank run --as-of YYYY-MM-DD --data URL`, with table and column names mapped in the",
        "`source` section of configs/default.yaml.",
        "",
        "These records are personal data: keep this folder owner-only.",
        "",
    ]
    return "\n".join(lines)


def write_starter(directory: Path) -> list[Path]:
    """Lay out a force's folder at ``directory`` (made if missing); the files written, in order.

    Raises
    ------
    ConfigError
        When ``directory`` already holds ``configs/default.yaml`` (a force's config is never
        overwritten) or is a file.
    """
    directory = Path(directory)
    config = directory / CONFIG
    if directory.exists() and not directory.is_dir():
        raise ConfigError(f"{directory} is a file; give harmrank init a folder (new or empty)")
    if config.exists():
        raise ConfigError(
            f"{config} exists already; harmrank init never overwrites a force's config. Edit it, "
            "or give init a new folder."
        )
    files = {
        config: starter_config(),
        directory / RECORDS / "README.md": records_readme(),
        directory / "docs" / "data-contract.md": contract_markdown(),
        directory / "docs" / "features.md": catalogue_markdown(),
    }
    for sub in ("configs", "docs"):
        (directory / sub).mkdir(parents=True, exist_ok=True)
    private_dir(directory / "data")
    private_dir(directory / RECORDS)
    private_dir(directory / "runs")
    for path, text in files.items():
        if path.exists() and path != config:
            continue  # the force's own copy of a document stays
        path.write_text(text, encoding="utf-8", newline="\n")
    return list(files)
