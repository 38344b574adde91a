"""The access log (DPA 2018 s62): reading it with filters, in the service and on the command line.

Entries are written by :func:`scoring.serve.web.log_access`; this module reads them: the analyst's
page (``/access-log``), its CSV export for the data protection officer (itself logged as a
disclosure), and ``harmrank access-log``.
"""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

import pandas as pd
import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.responses import Response

from scoring.db import access_log, engine, ledger
from scoring.io import spreadsheet_safe
from scoring.serve.web import (
    Service,
    bar,
    justified,
    log_access,
    need,
    render,
    session_of,
    shown_time,
    write_entry,
)

COLUMNS = ["seq", "at", "user_name", "role", "action", "what", "run", "person_id", "justification", "client"]
SHOWN = 500
"""Most entries the page shows (the export has them all)."""


def since_date(text: str | None) -> str | None:
    """An ISO date (``YYYY-MM-DD``) or None; anything else is refused with ValueError."""
    if not text:
        return None
    return date.fromisoformat(str(text)).isoformat()


def entries(
    url: str, *, person: str | None = None, user: str | None = None, since: str | None = None
) -> list[dict[str, object]]:
    """Entries, oldest first, for one person, one user, and from a date on (each optional)."""
    where = []
    if person:
        where.append(access_log.c.person_id == person)
    if user:
        where.append(access_log.c.user_name == user)
    if since:
        where.append(access_log.c.at >= since_date(since))
    rows = ledger.rows(url, "access_log", where)
    return [{c: r[c] for c in COLUMNS} for r in rows]


def record_cli(
    url: str, action: str, what: str, *, justification: str, run: str = "", person_id: str = ""
) -> None:
    """An access-log entry for something done on the command line, by the operating-system account."""
    import getpass
    import socket

    write_entry(
        url,
        user_name=f"os:{getpass.getuser()}",
        role="command line",
        action=action,
        what=what,
        run=run,
        person_id=person_id,
        justification=justification,
        client=socket.gethostname(),
    )


def consulted(url: str, action: str, **filters: str | None) -> None:
    """Log that the access log itself was read (or exported) on the command line (s62 covers
    consultation of the log's personal data too)."""
    shown = ", ".join(f"{k}={v}" for k, v in filters.items() if v) or "all entries"
    record_cli(
        url,
        action,
        f"access log ({shown})",
        person_id=filters.get("person") or "",
        justification="harmrank access-log on the command line",
    )


def count(url: str) -> int:
    with engine(url).connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(access_log)).scalar_one())


def as_csv(rows: list[dict[str, object]]) -> str:
    frame = pd.DataFrame(rows, columns=COLUMNS)
    return spreadsheet_safe(frame).to_csv(index=False, lineterminator="\n")


def add_routes(app: FastAPI, service: Service) -> None:
    def filters(request: Request) -> dict[str, str]:
        q = request.query_params
        out = {k: str(q.get(k) or "").strip()[:200] for k in ("person", "user", "since")}
        try:
            since_date(out["since"])
        except ValueError:
            out["since"] = ""
        return out

    def chosen(f: dict[str, str]) -> list[dict[str, object]]:
        return entries(
            service.database, person=f["person"] or None, user=f["user"] or None, since=f["since"] or None
        )

    @app.get("/access-log")
    def page(request: Request) -> Response:
        session = session_of(request, service)
        need(service, session, "access_log", request, "access log")
        justified(session, request)
        f = filters(request)
        rows = chosen(f)
        check = ledger.verify(service.database, "access_log", "access log")
        log_access(
            service, request, session.user, "consult", "access log", justification=session.justification
        )
        return render(
            "access_log.html",
            title="Access log",
            service=bar(session),
            rows=[{**r, "at": shown_time(r["at"])} for r in reversed(rows)][:SHOWN],
            total=len(rows),
            shown_limit=SHOWN if len(rows) > SHOWN else 0,
            filters=f,
            query=urlencode({k: v for k, v in f.items() if v}),
            check={"ok": check.ok, "text": check.summary(where=False)},
        )

    @app.get("/access-log.csv")
    def export(request: Request) -> Response:
        session = session_of(request, service)
        need(service, session, "access_log", request, "access log export")
        justified(session, request)
        f = filters(request)
        log_access(
            service,
            request,
            session.user,
            "disclose",
            "access log export (CSV)",
            justification=session.justification,
        )
        body = as_csv(chosen(f))
        return Response(
            body,
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="harmrank-access-log.csv"'},
        )
