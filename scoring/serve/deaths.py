"""The month's deaths report in the review service: its pages, and a decision on each alert and
candidate series recorded in the review log under the signed-in account.

``/runs/<DATE>/deaths/`` lists what needs a review (``review_items.csv``) with the latest decision
read live from the review log, a decision form per item for roles that decide, and links to the
report and its series pages, which are served as ``harmrank deaths`` wrote them. The pages name
death reports and the living people linked to them, so they need the ``person`` permission and a
justification, and every look and every decision goes in the access log, as for a person page.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import Response

from scoring.io import DEATHS_DIR
from scoring.review import DEATHS_ITEMS, DECISIONS, ReviewError, record_decision
from scoring.serve import review_state as state
from scoring.serve.web import (
    PostedForm,
    Service,
    bar,
    checked_form,
    html,
    justified,
    known_run,
    log_access,
    need,
    redirect,
    render,
    session_of,
    shown_time,
)

PAGE = re.compile(r"report\.html|series/C\d{2,4}\.html")
"""The deaths report's pages the service serves (nothing else in the folder is a page)."""
ITEM = re.compile(r"[A-Za-z0-9_.-]{1,40}(\+[A-Za-z0-9_.-]{1,40})?")


def deaths_folder(runs_dir: Path, as_of: str) -> Path:
    """The deaths report of ``as_of``, or a 404."""
    folder = Path(runs_dir) / as_of / DEATHS_DIR
    if not (folder / "manifest.json").is_file() or not (folder / DEATHS_ITEMS).is_file():
        raise HTTPException(status_code=404, detail=f"There is no deaths report for {as_of}.")
    return folder


def has_deaths(runs_dir: Path, as_of: str) -> bool:
    """Whether the date has a deaths report the service can show."""
    folder = Path(runs_dir) / as_of / DEATHS_DIR
    return (folder / "manifest.json").is_file() and (folder / DEATHS_ITEMS).is_file()


def _rows(folder: Path, service: Service, run: str) -> list[dict[str, object]]:
    items = pd.read_csv(folder / DEATHS_ITEMS, dtype={"item": "str"})
    latest = state.latest(state.run_decisions(service.review_log, run, items["item"].tolist()))
    rows = []
    for r in items.itertuples(index=False):
        hit = latest.loc[r.item] if r.item in latest.index else None
        rows.append(
            {
                "rank": int(r.rank),
                "item": str(r.item),
                "kind": str(r.kind),
                "what": str(r.what),
                "href": f"series/{r.item}.html" if r.kind == "series" else "report.html#pairs",
                "decision": hit["decision"] if hit is not None else "not reviewed",
                "reviewer": hit["reviewer"] if hit is not None else "",
                "recorded_at": shown_time(hit["recorded_at"]) if hit is not None else "",
                "reason": hit["reason"] if hit is not None else "",
            }
        )
    return rows


def _month(manifest: dict[str, object], as_of: str) -> str:
    """The report's month in words (``October 2026``)."""
    month = str(manifest.get("month", ""))
    try:
        return pd.Timestamp(f"{month}-01").strftime("%B %Y")
    except ValueError:
        return f"the month before {as_of}"


def add_routes(app: FastAPI, service: Service) -> None:
    def page(request: Request, as_of: str, status: int = 200, error: str = "", flash: str = "") -> Response:
        session = session_of(request, service)
        folder = deaths_folder(service.runs_dir, as_of)
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        run = str(manifest.get("run", f"{as_of}/deaths"))
        rows = _rows(folder, service, run)
        log_access(
            service,
            request,
            session.user,
            "consult",
            "deaths review page",
            run=run,
            justification=session.justification,
        )
        reviewed = sum(1 for r in rows if r["decision"] != "not reviewed")
        return render(
            "deaths.html",
            status,
            title=f"Death reports of {_month(manifest, as_of)}: reviews",
            service=bar(session),
            as_of=as_of,
            rows=rows,
            reviewed=reviewed,
            decisions=DECISIONS,
            may_decide=session.user.may("decide"),
            error=error,
            flash=flash,
        )

    @app.get("/runs/{as_of}/deaths/")
    def deaths_index(request: Request, as_of: str, recorded: int | None = None) -> Response:
        known_run(as_of)
        session = session_of(request, service)
        need(service, session, "person", request, "deaths review page", run=f"{as_of}/deaths")
        justified(session, request)
        flash = f"Your decision was recorded as review #{recorded}." if recorded is not None else ""
        return page(request, as_of, flash=flash)

    @app.get("/runs/{as_of}/deaths")
    def deaths_no_slash(as_of: str) -> Response:
        known_run(as_of)
        return redirect(f"/runs/{as_of}/deaths/")

    @app.get("/runs/{as_of}/deaths/{path:path}")
    def deaths_page(request: Request, as_of: str, path: str) -> Response:
        known_run(as_of)
        session = session_of(request, service)
        need(service, session, "person", request, f"deaths {path}"[:60], run=f"{as_of}/deaths")
        justified(session, request)
        folder = deaths_folder(service.runs_dir, as_of)
        target = folder / path
        if not PAGE.fullmatch(path) or not target.is_file() or target.is_symlink():
            raise HTTPException(status_code=404, detail="There is no such page of the deaths report.")
        log_access(
            service,
            request,
            session.user,
            "consult",
            f"deaths {path}"[:60],
            run=f"{as_of}/deaths",
            justification=session.justification,
        )
        return html(target.read_text(encoding="utf-8"))

    @app.post("/runs/{as_of}/deaths/decision")
    def deaths_decide(request: Request, as_of: str, form: PostedForm) -> Response:
        known_run(as_of)
        session = session_of(request, service)
        checked_form(request, form, session.csrf)
        item = str(form.get("item") or "")
        if not ITEM.fullmatch(item):
            raise HTTPException(status_code=400, detail="No alert or series was named.")
        need(service, session, "decide", request, "deaths decision", run=f"{as_of}/deaths", person_id=item)
        justified(session, request)
        folder = deaths_folder(service.runs_dir, as_of)
        try:
            review_id = record_decision(
                service.review_log,
                run_dir=folder,
                person_id=item,
                decision=str(form.get("decision") or ""),
                reason=str(form.get("reason") or ""),
                reviewer=session.user.name,
            )
        except ReviewError as exc:
            return page(request, as_of, status=400, error=f"{item}: {exc}")
        log_access(
            service,
            request,
            session.user,
            "alter",
            f"deaths decision #{review_id}",
            run=f"{as_of}/deaths",
            person_id=item,
            justification=session.justification,
        )
        return redirect(f"/runs/{as_of}/deaths/?recorded={review_id}#item-{item}")
