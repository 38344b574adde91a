"""What every route of the review service shares: the page environment, security headers, the
signed-in session, CSRF checks and the access log entry.

- **Headers**: a strict Content-Security-Policy (nothing but inline styles, data: images and the
  officer pages' one script by its hash; forms post only to this site; no framing), plus
  ``X-Frame-Options: DENY``, ``nosniff``, ``no-referrer`` and ``Cache-Control: no-store`` (pages
  hold personal data and must not sit in a shared cache).
- **CSRF**: every form carries the session's token (the sign-in form a token from its own
  cookie); a POST without it, with another, or from another origin is refused with 403.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Annotated
from urllib.parse import quote, unquote, urlencode

import jinja2
from fastapi import Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from scoring.config import ServeSettings
from scoring.db import ledger
from scoring.reports.env import environment, new_environment
from scoring.review_log import Location
from scoring.serve.auth import Session, User, find_session, now_utc, stamp
from scoring.serve.runs import RUN_NAME
from scoring.terminal import one_line

SESSION_COOKIE = "harmrank_session"
LOGIN_COOKIE = "harmrank_login"
NOT_CHOSEN = "none chosen"


@dataclass(frozen=True)
class Service:
    """The service's settings: where the runs, the database and the review log are."""

    runs_dir: Path
    database: str
    review_log: Location
    settings: ServeSettings


@cache
def pages() -> jinja2.Environment:
    """The report environment with the service's own templates in front of the report templates."""
    return new_environment(jinja2.PackageLoader("scoring.serve", "templates"))


def csp() -> str:
    """The Content-Security-Policy of every response (the officer pages' script allowed by hash)."""
    script = environment().loader.get_source(environment(), "officer.js")[0]  # type: ignore[union-attr]
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    return (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
        f"script-src 'sha256-{digest}'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )


def security_headers(response: Response, policy: str) -> None:
    response.headers["Content-Security-Policy"] = policy
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
    response.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), interest-cohort=()"


def client(request: Request) -> str:
    """The client's address (behind a proxy: what uvicorn's trusted proxy headers give)."""
    return (request.client.host if request.client else "unknown")[:64]


def local_path(target: str | None, default: str = "/runs") -> str:
    """``target`` when it is a path on this site (never another site: ``//x``, ``/\\x``, ``http:``;
    nor a path with white space or control characters, which browsers drop: ``/<tab>/x`` is ``//x``)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return default
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return default
    return target


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def person_href(as_of: str, person_id: str) -> str:
    """A person page's address (the id percent-encoded: any character may be in it)."""
    return f"/runs/{as_of}/people/{quote(person_id, safe='')}"


def person_in_path(request: Request, fallback: str) -> str:
    """The person id in a person or decision address, decoded exactly once from the raw path (the
    router's decoding would turn an id holding ``%2F`` into one holding ``/``)."""
    raw = request.scope.get("raw_path")
    if not raw:
        return fallback
    tail = raw.decode("latin-1").split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    try:
        return unquote(tail, encoding="utf-8", errors="strict") if tail else fallback
    except UnicodeDecodeError:
        raise HTTPException(status_code=404, detail="There is no such person on this list.") from None


def decision_href(as_of: str, person_id: str) -> str:
    """Where a person page's decision form posts."""
    return f"/runs/{as_of}/decision/{quote(person_id, safe='')}"


def session_of(request: Request, service: Service) -> Session:
    """The signed-in session, or a redirect to the sign-in page (saying when it expired)."""
    found, why = find_session(
        service.database,
        request.cookies.get(SESSION_COOKIE),
        idle_minutes=service.settings.idle_minutes,
        session_hours=service.settings.session_hours,
    )
    if found is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        query = urlencode({"next": target, **({"m": why} if why in ("expired", "ended") else {})})
        raise HTTPException(status_code=303, headers={"Location": f"/login?{query}"})
    request.state.session = found  # for the refusal page's bar
    return found


def justified(session: Session, request: Request) -> None:
    """Go on only with a justification for this session (DPA 2018 s62); else to the page asking for one."""
    if not session.justification:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise HTTPException(status_code=303, headers={"Location": "/justify?" + urlencode({"next": target})})


def bar(session: Session) -> dict[str, object]:
    """The service bar's context: who, and the links the role may follow."""
    user = session.user
    links = [("Runs", "/runs")]
    if user.may("access_log"):
        links.append(("Access log", "/access-log"))
    if user.may("users"):
        links.append(("Accounts", "/admin/users"))
    return {"user": user.name, "role": user.role, "csrf": session.csrf, "links": links}


def same_origin(request: Request) -> bool:
    """False when the browser says the request comes from another site (Origin or Sec-Fetch-Site)."""
    origin = request.headers.get("origin")
    if origin and origin != "null":
        own = f"{request.url.scheme}://{request.url.netloc}"
        forwarded = request.headers.get("x-forwarded-host")
        allowed = {own} | ({f"https://{forwarded}", f"http://{forwarded}"} if forwarded else set())
        if origin not in allowed:
            return False
    return request.headers.get("sec-fetch-site", "same-origin") in {"same-origin", "none"}


async def read_form(request: Request) -> FormData:
    """The POSTed form, read on the event loop; the route itself then runs in a worker thread (its
    argon2 and database work must not hold up every other request)."""
    return await request.form()


PostedForm = Annotated[FormData, Depends(read_form)]


def checked_form(request: Request, form: FormData, expected: str) -> FormData:
    """``form`` when its CSRF token is ``expected`` and it comes from this site; else 403."""
    token = str(form.get("csrf") or "")
    if not same_origin(request) or not token or not hmac.compare_digest(token, expected):
        raise HTTPException(status_code=403, detail="csrf")
    return form


def login_token(request: Request) -> str:
    return request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(32)


def set_cookie(
    response: Response, name: str, value: str, service: Service, max_age: int | None = None
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        samesite="strict",
        secure=service.settings.secure_cookies,
        path="/",
    )


def log_access(
    service: Service,
    request: Request,
    user: User,
    action: str,
    what: str,
    *,
    run: str = "",
    person_id: str = "",
    justification: str | None = None,
) -> None:
    """One entry in the access log (s62): who, when, which run and person, why, from where."""
    write_entry(
        service.database,
        user_name=user.name,
        role=user.role,
        action=action,
        what=what,
        run=run,
        person_id=person_id,
        justification=justification or NOT_CHOSEN,
        client=client(request),
    )


def write_entry(
    url: str,
    *,
    user_name: str,
    role: str,
    action: str,
    what: str,
    run: str,
    person_id: str,
    justification: str,
    client: str,
) -> None:
    """Append one access-log entry, for the service and the command line alike. Text that may come
    from a request or a user (what, run, person id, justification) is kept on one line, control
    characters written as escapes: an entry can never pass itself off as two."""
    ledger.append(
        url,
        "access_log",
        {
            "at": stamp(now_utc()),
            "user_name": user_name[:120],
            "role": role,
            "action": action,
            "what": one_line(what)[:60],
            "run": one_line(run)[:32],
            "person_id": one_line(person_id),
            "justification": one_line(justification),
            "client": client[:64],
        },
    )


def known_run(as_of: str) -> str:
    """``as_of`` when it can name a run (a date, YYYY-MM-DD); else 404 before anything is logged."""
    if not RUN_NAME.fullmatch(as_of):
        raise HTTPException(status_code=404, detail="There is no such run: a run is named by its date.")
    return as_of


class SecurityHeaders:
    """ASGI wrapper that puts the security headers on every response, including the 500 page
    Starlette's error handler makes outside the application's own middleware; HSTS over HTTPS."""

    def __init__(self, app: ASGIApp, policy: str) -> None:
        self.app, self.policy = app, policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                fixed = Response()
                security_headers(fixed, self.policy)
                for key, value in fixed.headers.items():
                    if key not in ("content-length", "content-type"):
                        headers[key] = value
                if scope.get("scheme") == "https":
                    headers["Strict-Transport-Security"] = "max-age=31536000"
            await send(message)

        await self.app(scope, receive, with_headers)


def shown_time(stamp_text: object) -> str:
    """An ISO-8601 UTC time as the pages show it: ``2026-11-02 09:15:00`` (the column says UTC)."""
    text = str(stamp_text or "")
    return text[:19].replace("T", " ") if len(text) >= 19 else text


def html(body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(body, status_code=status)


def render(name: str, status: int = 200, **context: object) -> HTMLResponse:
    """One of the service's own pages (scoring/serve/templates)."""
    return html(pages().get_template(name).render(**context), status)


def need(
    service: Service, session: Session, permission: str, request: Request, what: str, **where: str
) -> None:
    """Go on only when the signed-in role has ``permission``; else log the refusal (s62) and refuse (403)."""
    if not session.user.may(permission):
        log_access(
            service, request, session.user, "refused", what, justification=session.justification, **where
        )
        refusal = f"Your role ({session.user.role}) may not open this page. The attempt is in the access log."
        raise HTTPException(status_code=403, detail=refusal)
