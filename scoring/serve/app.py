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
from urllib.parse import urlencode

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, PlainTextResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from scoring.db import ensure
from scoring.reports.officer import index_page, person_page, review_figures
from scoring.review import ReviewError, record_decision, verify
from scoring.serve import accesslog, admin, auth
from scoring.serve import review_state as state
from scoring.serve.runs import REPORTS, RunPages, list_runs, load_pages, run_folder
from scoring.serve.web import (
    LOGIN_COOKIE,
    SESSION_COOKIE,
    Service,
    bar,
    checked_form,
    client,
    csp,
    decision_href,
    html,
    justified,
    local_path,
    log_access,
    login_token,
    pages,
    person_href,
    person_in_path,
    redirect,
    security_headers,
    session_of,
    set_cookie,
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


def create_app(service: Service) -> FastAPI:
    """The service over ``service.runs_dir``, its database brought up to date first."""
    ensure(service.database)
    app = FastAPI(title="harmrank review service", docs_url=None, redoc_url=None, openapi_url=None)
    env = pages()
    policy = csp()

    @app.middleware("http")
    async def headers(request: Request, call_next):
        response = await call_next(request)
        security_headers(response, policy)
        return response

    def render(name: str, status: int = 200, **context: object) -> Response:
        return html(env.get_template(name).render(**context), status)

    def refuse(request: Request, message: str, status: int, session: auth.Session | None = None) -> Response:
        return render(
            "error.html",
            status,
            title="Not allowed" if status == 403 else "Not found",
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

    def need(session: auth.Session, permission: str, request: Request, what: str, **where: str) -> None:
        if not session.user.may(permission):
            log_access(
                service, request, session.user, "refused", what, justification=session.justification, **where
            )
            raise HTTPException(
                status_code=403, detail=f"Your role ({session.user.role}) may not open this page."
            )

    def run_pages(as_of: str) -> RunPages:
        folder = run_folder(service.runs_dir, as_of)
        loaded = load_pages(folder) if folder else None
        if loaded is None:
            raise HTTPException(status_code=404, detail=f"There is no servable run {as_of!r}.")
        return loaded

    # --- sign-in -------------------------------------------------------------------------------
    @app.get("/")
    def home() -> Response:
        return redirect("/runs")

    @app.get("/login")
    def login_page(request: Request, next: str = "/runs", m: str = "") -> Response:
        token = login_token(request)
        oidc = service.settings.oidc
        response = render(
            "login.html",
            title="Sign in",
            service=None,
            csrf=token,
            next=local_path(next),
            message=MESSAGES.get(m, ""),
            oidc_label=oidc.label if oidc else "",
            oidc_query=urlencode({"next": local_path(next)}),
            attempts=service.settings.lockout_attempts,
            lock_minutes=service.settings.lockout_minutes,
            idle_minutes=service.settings.idle_minutes,
        )
        set_cookie(response, LOGIN_COOKIE, token, service, max_age=3600)
        return response

    @app.post("/login")
    async def login(request: Request) -> Response:
        form = await checked_form(request, request.cookies.get(LOGIN_COOKIE, ""))
        s = service.settings
        user = auth.authenticate(
            service.database,
            str(form.get("name") or ""),
            str(form.get("password") or ""),
            client=client(request),
            attempts=s.lockout_attempts,
            lock_minutes=s.lockout_minutes,
        )
        if user is None:
            return redirect("/login?" + urlencode({"m": "failed", "next": local_path(str(form.get("next")))}))
        return signed_in(user, str(form.get("next") or "/runs"))

    def signed_in(user: auth.User, target: str) -> Response:
        response = redirect(local_path(target))
        set_cookie(response, SESSION_COOKIE, auth.start_session(service.database, user), service)
        response.delete_cookie(LOGIN_COOKIE, path="/")
        return response

    @app.post("/logout")
    async def logout(request: Request) -> Response:
        session = session_of(request, service)
        await checked_form(request, session.csrf)
        auth.end_session(service.database, session.token_hash)
        auth.security(service.database, "logout", session.user.name, client(request))
        response = redirect("/login?m=out")
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    if service.settings.oidc is not None:
        from scoring.serve.oidc import add_oidc_routes

        add_oidc_routes(app, service, signed_in)

    # --- the s62 justification -----------------------------------------------------------------
    @app.get("/justify")
    def justify_page(request: Request, next: str = "/runs") -> Response:
        session = session_of(request, service)
        return render(
            "justify.html",
            title="Why are you consulting these records?",
            service=bar(session),
            next=local_path(next),
            options=service.settings.justifications,
            current=session.justification,
            error="",
        )

    @app.post("/justify")
    async def justify(request: Request) -> Response:
        session = session_of(request, service)
        form = await checked_form(request, session.csrf)
        choice, other = str(form.get("choice") or ""), " ".join(str(form.get("other") or "").split())[:400]
        reason = other if choice == "other" else choice
        if choice not in [*service.settings.justifications, "other"] or len(reason) < 3:
            return render(
                "justify.html",
                400,
                title="Why are you consulting these records?",
                service=bar(session),
                next=local_path(str(form.get("next"))),
                options=service.settings.justifications,
                current=session.justification,
                error="Choose a justification, or choose 'other' and write one (at least 3 characters).",
            )
        auth.set_justification(service.database, session.token_hash, reason)
        return redirect(local_path(str(form.get("next"))))

    # --- runs and the list ---------------------------------------------------------------------
    @app.get("/runs")
    def runs(request: Request) -> Response:
        session = session_of(request, service)
        user, status = session.user, session.user.may("runs")
        shown = []
        for r in list_runs(service.runs_dir):
            links = []
            if user.may("list") and r["servable"]:
                links.append(("the list", f"/runs/{r['as_of']}/"))
            if user.may("progress") and r["servable"]:
                links.append(("review progress", f"/runs/{r['as_of']}/progress"))
            if user.may("reports"):
                links += [(REPORTS[k][1], f"/runs/{r['as_of']}/{REPORTS[k][0]}") for k in r["reports"]]  # type: ignore[attr-defined]
            row = {**r, "links": links, "listed": "–", "reviewed": "–", "override": "–"}
            if status and r["servable"]:
                loaded = run_pages(str(r["as_of"]))
                figures = state.summary(service.review_log, loaded.as_of, loaded.people)
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
        session = session_of(request, service)
        need(session, "list", request, "list", run=as_of)
        loaded = run_pages(as_of)
        justified(session, request)
        people = loaded.people
        frame = state.run_decisions(service.review_log, as_of, people)
        reviews = state.decisions_for(service.review_log, people)
        assigned = state.latest_assignments(service.database, as_of)
        mine = {p for p, (officer, _) in assigned.items() if officer == session.user.name}
        done = set(state.latest(frame).index)
        keep = {"all": set(people), "unreviewed": set(people) - done, "reviewed": done, "mine": mine}.get(
            show
        )
        if keep is None:
            show, keep = "all", set(people)
        listed = loaded.listed[loaded.listed["person_id"].astype(str).isin(keep)]
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
            else f"Showing {len(listed)} of {len(people)} listed people ({dict(FILTERS)[show]}).",
            "actions": [("Review progress, who decided what, and assignments", f"/runs/{as_of}/progress")]
            if session.user.may("progress")
            else [],
        }
        summary = state.summary(service.review_log, as_of, people)
        check = verify(service.review_log)
        log_access(
            service, request, session.user, "consult", "list", run=as_of, justification=session.justification
        )
        page = index_page(
            as_of=as_of,
            listed=listed,
            left=loaded.left,
            reasons=loaded.reasons,
            evidence=loaded.evidence,
            history=loaded.history,
            reviews=reviews,
            review_summary=summary,
            notes=list(loaded.pages.get("notes", [])),  # type: ignore[call-overload]
            review_log={"ok": check.ok, "text": check.summary(where=False)},
            marking=str(loaded.pages.get("marking", "OFFICIAL-SENSITIVE")),
            rank_by=str(loaded.pages.get("rank_by", "probability")),
            service=service_context,
            terms=loaded.terms,
        )
        return html(page)

    @app.get("/runs/{as_of}/top100.csv")
    def export_list(request: Request, as_of: str) -> Response:
        session = session_of(request, service)
        need(session, "list", request, "list export", run=as_of)
        folder = run_pages(as_of).folder
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

    # --- a person ------------------------------------------------------------------------------
    def person_response(
        request: Request,
        session: auth.Session,
        as_of: str,
        person_id: str,
        form: dict[str, str] | None = None,
        status: int = 200,
        flash: str = "",
    ) -> Response:
        loaded = run_pages(as_of)
        row = loaded.row(person_id)
        if row is None:
            raise HTTPException(status_code=404, detail=f"{person_id!r} is not on the list of {as_of}.")
        assigned = state.latest_assignments(service.database, as_of).get(person_id)
        context = {
            **bar(session),
            "justification": session.justification,
            "justify_href": "/justify?" + urlencode({"next": person_href(as_of, person_id)}),
            "index_href": f"/runs/{as_of}/",
            "decide_href": decision_href(as_of, person_id),
            "may_decide": session.user.may("decide"),
            "assigned": f"{assigned[0]} (by {assigned[1]})" if assigned else "",
            "flash": flash,
            "form": {
                "decision": "",
                "reason": "",
                "action_taken": "",
                "action_date": "",
                "error": "",
                **(form or {}),
            },
        }
        page = person_page(
            row,
            as_of=as_of,
            reasons=loaded.frame("reasons", person_id),
            families=loaded.frame("families", person_id),
            evidence=loaded.frame("evidence", person_id),
            history=loaded.frame("history", person_id),
            past_ranks=loaded.frame("rank_history", person_id),
            reviews=state.decisions_for(service.review_log, [person_id]),
            base_value=float(loaded.pages.get("base_value", 0.0)),  # type: ignore[arg-type]
            objective=str(loaded.pages.get("objective", "binary")),
            marking=str(loaded.pages.get("marking", "OFFICIAL-SENSITIVE")),
            features=set(loaded.pages.get("features", [])),  # type: ignore[call-overload]
            service=context,
        )
        return html(page, status)

    @app.get("/runs/{as_of}/people/{person_id:path}")
    def person(request: Request, as_of: str, person_id: str, recorded: int | None = None) -> Response:
        person_id = person_in_path(request, person_id)
        session = session_of(request, service)
        need(session, "person", request, "person page", run=as_of, person_id=person_id)
        justified(session, request)
        log_access(
            service,
            request,
            session.user,
            "consult",
            "person page",
            run=as_of,
            person_id=person_id,
            justification=session.justification,
        )
        flash = ""
        if recorded is not None:
            mine = state.decisions_for(service.review_log, [person_id])
            hit = mine[(mine["review_id"] == recorded) & (mine["reviewer"] == session.user.name)]
            if len(hit):
                r = hit.iloc[0]
                flash = (
                    f"Your decision ({r['decision']}) was recorded at {shown_time(r['recorded_at'])} UTC "
                    f"as review #{recorded}. It is shown under Past review decisions."
                )
        return person_response(request, session, as_of, person_id, flash=flash)

    @app.post("/runs/{as_of}/decision/{person_id:path}")
    async def decide(request: Request, as_of: str, person_id: str) -> Response:
        person_id = person_in_path(request, person_id)
        session = session_of(request, service)
        form = await checked_form(request, session.csrf)
        need(session, "decide", request, "decision", run=as_of, person_id=person_id)
        justified(session, request)
        values = {k: str(form.get(k) or "") for k in ("decision", "reason", "action_taken", "action_date")}
        reason = values["reason"].strip()
        taken = " ".join(values["action_taken"].split())
        if taken and reason:
            reason += f"\nAction taken: {taken}" + (
                f" (on {values['action_date']})" if values["action_date"] else ""
            )
        folder = run_pages(as_of).folder
        try:
            review_id = record_decision(
                service.review_log,
                run_dir=folder,
                person_id=person_id,
                decision=values["decision"],
                reason=reason,
                reviewer=session.user.name,
            )
        except ReviewError as exc:
            return person_response(
                request, session, as_of, person_id, form={**values, "error": str(exc)}, status=400
            )
        log_access(
            service,
            request,
            session.user,
            "alter",
            f"decision #{review_id}",
            run=as_of,
            person_id=person_id,
            justification=session.justification,
        )
        return redirect(person_href(as_of, person_id) + f"?recorded={review_id}#past-reviews")

    # --- supervision ---------------------------------------------------------------------------
    @app.get("/runs/{as_of}/progress")
    def progress(request: Request, as_of: str) -> Response:
        session = session_of(request, service)
        need(session, "progress", request, "review progress", run=as_of)
        loaded = run_pages(as_of)
        justified(session, request)
        frame = state.run_decisions(service.review_log, as_of, loaded.people)
        last, assigned = state.latest(frame), state.latest_assignments(service.database, as_of)
        rows = []
        for r in loaded.listed.itertuples(index=False):
            p = str(r.person_id)
            hit = last.loc[p] if p in last.index else None
            rows.append(
                {
                    "rank": int(r.rank),
                    "person_id": p,
                    "href": person_href(as_of, p),
                    "decision": hit["decision"] if hit is not None else "not reviewed",
                    "reviewer": hit["reviewer"] if hit is not None else "",
                    "recorded_at": shown_time(hit["recorded_at"]) if hit is not None else "",
                    "assigned": assigned[p][0] if p in assigned else "",
                }
            )
        log_access(
            service,
            request,
            session.user,
            "consult",
            "review progress",
            run=as_of,
            justification=session.justification,
        )
        return render(
            "progress.html",
            title=f"Review progress: list of {as_of}",
            service=bar(session),
            as_of=as_of,
            review=review_figures(state.summary(service.review_log, as_of, loaded.people)),
            reviewers=state.by_reviewer(frame),
            rows=rows,
            assigned_count=len(assigned),
            may_assign=session.user.may("assign"),
            officers=auth.officers(service.database),
        )

    @app.post("/runs/{as_of}/assign")
    async def assign(request: Request, as_of: str) -> Response:
        session = session_of(request, service)
        form = await checked_form(request, session.csrf)
        need(session, "assign", request, "assignment", run=as_of)
        loaded = run_pages(as_of)
        officer = str(form.get("officer") or "")
        people = [
            str(p)
            for p in form.getlist("person")  # type: ignore[attr-defined]
            if str(p) in set(loaded.people)
        ]
        if officer not in auth.officers(service.database):
            raise HTTPException(
                status_code=400, detail=f"{officer!r} is not an officer who may record decisions."
            )
        state.assign(service.database, as_of, people, officer, session.user.name)
        for p in people:
            log_access(
                service,
                request,
                session.user,
                "alter",
                f"assigned to {officer}"[:60],
                run=as_of,
                person_id=p,
                justification=session.justification,
            )
        return redirect(f"/runs/{as_of}/progress")

    # --- aggregate reports ---------------------------------------------------------------------
    @app.get("/runs/{as_of}/{path:path}")
    def report(request: Request, as_of: str, path: str) -> Response:
        session = session_of(request, service)
        folder = run_folder(service.runs_dir, as_of)
        allowed = {f for f, _ in REPORTS.values()}
        name = path if path in allowed else ""
        if path.startswith("governance/") and path.count("/") == 1 and path.endswith(REPORT_SUFFIXES):
            name = path
        if folder is None or not name or not (folder / name).is_file() or (folder / name).is_symlink():
            raise HTTPException(status_code=404, detail="There is no such report.")
        need(session, "reports", request, f"report {name}", run=as_of)
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

    accesslog.add_routes(app, service, render, need)
    admin.add_routes(app, service, render, need)
    return app
