"""`harmrank serve`: the review service's routes (FastAPI, pages rendered on the server).

Officers read the list and person pages (the officer report's own templates, with the review
state read live) and record decisions into the review log under their account; supervisors also
see progress and assign people; equality reviewers read the aggregate reports and are refused
person pages; analysts see everything, run status and the access log; admins manage accounts
(:data:`scoring.serve.auth.PERMISSIONS`). The pages work with JavaScript off.

Every consultation, disclosure, alteration and refusal goes in the access log (DPA 2018 s62),
with the justification chosen on the first look at personal data in a session; sign-ins and
account changes go in the security log.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, PlainTextResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from scoring.db import ensure
from scoring.reports.officer import index_page
from scoring.review import decisions, summarise, verify
from scoring.review import run_list as list_of_run
from scoring.serve import accesslog, admin, auth, deaths, people, signin
from scoring.serve import review_state as state
from scoring.serve.runs import REPORTS, list_runs, run_folder, servable
from scoring.serve.web import (
    SecurityHeaders,
    Service,
    bar,
    csp,
    html,
    justified,
    known_run,
    log_access,
    need,
    person_href,
    redirect,
    render,
    session_of,
    shown_time,
)

MESSAGES = {
    "failed": "Sign-in failed: the name or password is wrong, or the account is locked or disabled.",
    "expired": "Your session expired after a time without use. Sign in again.",
    "ended": "Your session was ended. Sign in again.",
    "out": "You have signed out.",
}
FILTERS = (
    ("all", "everyone"),
    ("unreviewed", "not reviewed"),
    ("reviewed", "reviewed"),
    ("mine", "assigned to me"),
)
REPORT_SUFFIXES = (".html", ".docx", ".md", ".json")
TITLES = {
    400: "Not accepted",
    403: "Not allowed",
    404: "Not found",
    405: "Not allowed",
    502: "Sign-in failed",
}


def create_app(service: Service) -> SecurityHeaders:
    """The service over ``service.runs_dir`` (an ASGI app), its database brought up to date first."""
    ensure(service.database)
    app = FastAPI(title="harmrank review service", docs_url=None, redoc_url=None, openapi_url=None)
    policy = csp()

    def refuse(request: Request, message: str, status: int, session: auth.Session | None = None) -> Response:
        return render(
            "error.html",
            status,
            title=TITLES.get(status, "Something went wrong"),
            message=message,
            service=bar(session) if session else None,
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 303 and exc.headers:
            return redirect(exc.headers["Location"])
        if exc.detail == "csrf":
            return refuse(
                request,
                "This form was refused: it did not carry this session's security token "
                "(it may be old, or come from another site). Open the page again and resubmit.",
                403,
            )
        return refuse(request, str(exc.detail), exc.status_code, getattr(request.state, "session", None))

    signin.add_routes(app, service)
    people.add_routes(app, service)  # before the reports' catch-all address below
    deaths.add_routes(app, service)  # the month's deaths report and its reviews (also before it)

    # --- runs and the list ---------------------------------------------------------------------
    @app.get("/runs")
    def runs(request: Request) -> Response:
        session = session_of(request, service)
        user, status = session.user, session.user.may("runs")
        shown = []
        recorded = decisions(service.review_log) if status else None  # read once for every run
        for r in list_runs(service.runs_dir):
            links = []
            if user.may("list") and r["servable"]:
                links.append(("the list", f"/runs/{r['as_of']}/"))
            if user.may("progress") and r["servable"]:
                links.append(("review progress", f"/runs/{r['as_of']}/progress"))
            if user.may("reports"):
                links += [(REPORTS[k][1], f"/runs/{r['as_of']}/{REPORTS[k][0]}") for k in r["reports"]]  # type: ignore[attr-defined]
            if user.may("person") and deaths.has_deaths(service.runs_dir, str(r["as_of"])):
                links.append(("death reports", f"/runs/{r['as_of']}/deaths/"))
            row = {**r, "links": links, "listed": "–", "reviewed": "–", "override": "–"}
            row["created_at"] = shown_time(r["created_at"])
            if status:  # counted over the run's list alone (its page frames are not loaded for this)
                as_of = str(r["as_of"])
                listed = list_of_run(service.runs_dir / as_of)["person_id"].tolist()
                figures = summarise(recorded, listed, as_of)
                row.update(
                    listed=str(figures["listed"]),
                    reviewed=f"{figures['reviewed']} ({state.share(figures['share_reviewed'])})",
                    override=state.share(figures["override_rate"]),
                )
            shown.append(row)
        return render(
            "runs.html",
            title="Monthly runs",
            service=bar(session),
            runs=shown,
            runs_dir=str(service.runs_dir),
            show_status=status,
        )

    @app.get("/runs/{as_of}")
    def run_no_slash(as_of: str) -> Response:
        return redirect(f"/runs/{as_of}/")

    @app.get("/runs/{as_of}/")
    def run_list(request: Request, as_of: str, show: str = "all") -> Response:
        known_run(as_of)
        session = session_of(request, service)
        need(service, session, "list", request, "list", run=as_of)
        loaded = servable(service.runs_dir, as_of)
        justified(session, request)
        people = loaded.people
        reviews = state.decisions_for(service.review_log, people)  # the review log, read once
        frame = state.on_run(reviews, as_of)
        assigned = state.latest_assignments(service.database, as_of)
        mine = {p for p, (officer, _) in assigned.items() if officer == session.user.name}
        done = set(state.latest(frame).index)
        keep = {"all": set(people), "unreviewed": set(people) - done, "reviewed": done, "mine": mine}.get(
            show
        )
        if keep is None:
            show, keep = "all", set(people)

        service_context = {
            **bar(session),
            "href": lambda p: person_href(as_of, p),
            "queue": {
                "assigned": len(mine),
                "waiting": len(mine - done),
                "mine": int((state.latest(frame)["reviewer"] == session.user.name).sum()),
            },
            "filters": [(words, f"?show={key}", key == show) for key, words in FILTERS],
            "filter_note": ""
            if show == "all"
            else f"Showing {len(keep)} of {len(people)} listed people ({dict(FILTERS)[show]}); "
            "every figure on this page is about the whole list.",
            "shown": keep,
            "actions": [("Review progress, who decided what, and assignments", f"/runs/{as_of}/progress")]
            if session.user.may("progress")
            else [],
        }
        summary = summarise(reviews, people, as_of)
        check = verify(service.review_log)
        log_access(
            service, request, session.user, "consult", "list", run=as_of, justification=session.justification
        )
        page = index_page(
            as_of=as_of,
            listed=loaded.listed,
            left=loaded.left,
            reasons=loaded.reasons,
            evidence=loaded.evidence,
            history=loaded.history,
            reviews=reviews,
            review_summary=summary,
            notes=list(loaded.pages.get("notes", [])),
            review_log={"ok": check.ok, "text": check.summary(where=False)},
            marking=str(loaded.pages.get("marking", "OFFICIAL-SENSITIVE")),
            rank_by=str(loaded.pages.get("rank_by", "probability")),
            service=service_context,
            terms=loaded.terms,
        )
        return html(page)

    @app.get("/runs/{as_of}/top100.csv")
    def export_list(request: Request, as_of: str) -> Response:
        known_run(as_of)
        session = session_of(request, service)
        need(service, session, "list", request, "list export", run=as_of)
        folder = servable(service.runs_dir, as_of).folder
        justified(session, request)
        log_access(
            service,
            request,
            session.user,
            "disclose",
            "list export (CSV)",
            run=as_of,
            justification=session.justification,
        )
        return FileResponse(
            folder / "top100.csv", media_type="text/csv", filename=f"harmrank-top100-{as_of}.csv"
        )

    # --- aggregate reports ---------------------------------------------------------------------
    @app.get("/runs/{as_of}/{path:path}")
    def report(request: Request, as_of: str, path: str) -> Response:
        known_run(as_of)
        session = session_of(request, service)
        folder = run_folder(service.runs_dir, as_of)
        allowed = {f for f, _ in REPORTS.values()}
        name = path if path in allowed else ""
        if path.startswith("governance/") and path.count("/") == 1 and path.endswith(REPORT_SUFFIXES):
            name = path
        if folder is None or not name or not (folder / name).is_file() or (folder / name).is_symlink():
            raise HTTPException(status_code=404, detail="There is no such report.")
        need(service, session, "reports", request, f"report {name}", run=as_of)
        log_access(
            service,
            request,
            session.user,
            "consult",
            f"report {name}"[:60],
            run=as_of,
            justification=session.justification or "aggregate report",
        )
        target = folder / name
        if target.suffix in (".html",):
            return html(target.read_text(encoding="utf-8"))
        if target.suffix in (".md", ".json"):
            return PlainTextResponse(target.read_text(encoding="utf-8"))
        return FileResponse(target, filename=Path(name).name)

    accesslog.add_routes(app, service)
    admin.add_routes(app, service)
    return SecurityHeaders(app, policy)
