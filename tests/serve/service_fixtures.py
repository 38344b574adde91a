"""A servable run made by hand, and the review service over it, for the service's tests.

The run is the officer report's hand-made inputs (``tests/scoring/reports/officer_fixtures``:
five listed people, reasons, evidence, histories) written in the layout ``harmrank run`` writes:
manifest.json, the list, reasons/evidence beside it, and ``report/frames`` for the pages. The
review log starts empty: every decision in a test is one the test recorded.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from scoring.config import ServeSettings
from scoring.serve.auth import add_user
from scoring.serve.web import Service
from tests.scoring.reports import officer_fixtures as fx

AS_OF = fx.AS_OF
PASSWORD = "correct horse battery"
ROLES = {
    "pc-officer": "officer",
    "ds-supervisor": "supervisor",
    "eq-reviewer": "equality-reviewer",
    "an-analyst": "analyst",
    "ad-admin": "admin",
}
"""The test accounts: name -> role (each with :data:`PASSWORD`)."""


def write_run(runs: Path, as_of: str = AS_OF, inputs: dict[str, object] | None = None) -> Path:
    """A run folder ``runs/<as_of>`` the service can serve; returns it."""
    data = inputs or fx.inputs()
    folder = runs / as_of
    frames = folder / "report" / "frames"
    frames.mkdir(parents=True)
    listed = data["listed"]
    assert isinstance(listed, pd.DataFrame)
    manifest = {
        "as_of": as_of,
        "created_at": "2026-11-02T06:00:00+00:00",
        "list_length": len(listed),
        "release": {"status": "release allowed"},
        "review_log": "",
        "data_dir": str(runs.parent / "data"),
    }
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    listed[["rank", "person_id", "probability"]].to_parquet(folder / "top100.parquet", index=False)
    listed[["rank", "person_id", "probability"]].to_csv(folder / "top100.csv", index=False)
    for name, key in (("reasons", "reasons"), ("reason_families", "families"), ("evidence", "evidence")):
        data[key].to_parquet(folder / f"{name}.parquet", index=False)  # type: ignore[union-attr]
    for key in ("listed", "left", "history", "rank_history"):
        data[key].to_parquet(frames / f"{key}.parquet", index=False)  # type: ignore[union-attr]
    pages = {
        "base_value": data["base_value"],
        "objective": "binary",
        "notes": data["notes"],
        "marking": "OFFICIAL-SENSITIVE",
        "rank_by": "probability",
        "features": fx.FEATURES,
    }
    (frames / "pages.json").write_text(json.dumps(pages), encoding="utf-8")
    (folder / "equality.html").write_text("<!DOCTYPE html><title>Equality</title><p>Aggregates only.</p>")
    return folder


def make_service(
    tmp: Path, database: str, review_log: str | Path | None = None, **settings: object
) -> Service:
    """A service over a fresh run in ``tmp/runs`` with one account per role (:data:`ROLES`); the
    review log is ``tmp/reviews.sqlite`` unless given (a database URL on PostgreSQL)."""
    runs = tmp / "runs"
    write_run(runs)
    for name, role in ROLES.items():
        add_user(database, name, role, password=PASSWORD)
    options = dict(settings)
    return Service(
        runs_dir=runs,
        database=database,
        review_log=review_log if review_log is not None else tmp / "reviews.sqlite",
        settings=ServeSettings(**options),  # type: ignore[arg-type]
    )


def fresh_database(server_url: str, name: str) -> str:
    """A new, empty database ``name`` on the PostgreSQL server of ``server_url``; its URL."""
    import sqlalchemy as sa

    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return server_url.rsplit("/", 1)[0] + f"/{name}"
