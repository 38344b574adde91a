"""A listed person in the review service: their page, the decision form, and for supervisors the
review progress of a list and the assignment of people to officers.

The person page is the officer report's page (:func:`scoring.reports.officer.person_page`) with
the review state read live and the decision form; a decision goes into the review log under the
signed-in account, and the access log records each look and each change.
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import Response

from scoring.reports.officer import person_page, review_figures
from scoring.review import ReviewError, record_decision, summarise
from scoring.serve import auth
from scoring.serve import review_state as state
from scoring.serve.runs import servable
from scoring.serve.web import (
    PostedForm,
    Service,
    bar,
    checked_form,
    decision_href,
    html,
    justified,
    known_run,
    log_access,
    need,
    person_href,
    person_in_path,
    redirect,
    render,
    session_of,
    shown_time,
)
from scoring.terminal import one_line


def add_routes(app: FastAPI, service: Service) -> None:
    def person_response(
        request: Request,
        session: auth.Session,
        as_of: str,
        person_id: str,
        form: dict[str, str] | None = None,
        status: int = 200,
        flash: str = "",
    ) -> Response:
        """The person page; the consultation is logged once the run and the person are found."""
        loaded = servable(service.runs_dir, as_of)
        row = loaded.row(person_id)
        if row is None:
            raise HTTPException(
                status_code=404, detail=f"{one_line(person_id)!r} is not on the list of {as_of}."
            )
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
            base_value=float(loaded.pages.get("base_value", 0.0)),
            objective=str(loaded.pages.get("objective", "binary")),
            marking=str(loaded.pages.get("marking", "OFFICIAL-SENSITIVE")),
            features=set(loaded.pages.get("features", [])),
            service=context,
        )
        return html(page, status)

    @app.get("/runs/{as_of}/people/{person_id:path}")
    def person(request: Request, as_of: str, person_id: str, recorded: int | None = None) -> Response:
        known_run(as_of)
        person_id = person_in_path(request, person_id)
        session = session_of(request, service)
        need(service, session, "person", request, "person page", run=as_of, person_id=person_id)
        justified(session, request)
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
    def decide(request: Request, as_of: str, person_id: str, form: PostedForm) -> Response:
        known_run(as_of)
        person_id = person_in_path(request, person_id)
        session = session_of(request, service)
        checked_form(request, form, session.csrf)
        need(service, session, "decide", request, "decision", run=as_of, person_id=person_id)
        justified(session, request)
        values = {k: str(form.get(k) or "") for k in ("decision", "reason", "action_taken", "action_date")}
        reason = values["reason"].strip()
        taken = " ".join(values["action_taken"].split())
        if taken and reason:
            reason += f"\nAction taken: {taken}" + (
                f" (on {values['action_date']})" if values["action_date"] else ""
            )
        folder = servable(service.runs_dir, as_of).folder
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

    @app.get("/runs/{as_of}/progress")
    def progress(request: Request, as_of: str) -> Response:
        known_run(as_of)
        session = session_of(request, service)
        need(service, session, "progress", request, "review progress", run=as_of)
        loaded = servable(service.runs_dir, as_of)
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
            review=review_figures(summarise(frame, loaded.people, as_of)),
            reviewers=state.by_reviewer(frame),
            rows=rows,
            assigned_count=len(assigned),
            may_assign=session.user.may("assign"),
            officers=auth.officers(service.database),
        )

    @app.post("/runs/{as_of}/assign")
    def assign(request: Request, as_of: str, form: PostedForm) -> Response:
        known_run(as_of)
        session = session_of(request, service)
        checked_form(request, form, session.csrf)
        need(service, session, "assign", request, "assignment", run=as_of)
        justified(session, request)
        loaded = servable(service.runs_dir, as_of)
        officer = str(form.get("officer") or "")
        people = [str(p) for p in form.getlist("person") if str(p) in set(loaded.people)]
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
