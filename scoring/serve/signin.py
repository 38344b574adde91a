"""Signing in and out of the review service, and the s62 justification asked before personal data.

``/login`` takes a local account's name and password (the form carries a token from its own
cookie: a sign-in cannot be forged from another site); the force's sign-in is added by
:mod:`scoring.serve.oidc` when configured. ``/justify`` records why this session consults
personal data (DPA 2018 s62); every later access-log entry of the session carries it.
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import Response

from scoring.serve import auth
from scoring.serve.web import (
    LOGIN_COOKIE,
    SESSION_COOKIE,
    PostedForm,
    Service,
    bar,
    checked_form,
    client,
    local_path,
    login_token,
    redirect,
    render,
    session_of,
    set_cookie,
)

MESSAGES = {
    "failed": "Sign-in failed: the name or password is wrong, or the account is locked or disabled.",
    "expired": "Your session expired after a time without use. Sign in again.",
    "ended": "Your session was ended. Sign in again.",
    "out": "You have signed out.",
}


def add_routes(app: FastAPI, service: Service) -> None:
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
    def login(request: Request, form: PostedForm) -> Response:
        checked_form(request, form, request.cookies.get(LOGIN_COOKIE, ""))
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
        earlier = request.cookies.get(SESSION_COOKIE)
        if earlier:  # a browser signing in again leaves no live session behind
            auth.end_session(service.database, auth.token_digest(earlier))
        return signed_in(user, str(form.get("next") or "/runs"))

    def signed_in(user: auth.User, target: str) -> Response:
        response = redirect(local_path(target))
        set_cookie(response, SESSION_COOKIE, auth.start_session(service.database, user), service)
        response.delete_cookie(LOGIN_COOKIE, path="/")
        return response

    @app.post("/logout")
    def logout(request: Request, form: PostedForm) -> Response:
        session = session_of(request, service)
        checked_form(request, form, session.csrf)
        auth.end_session(service.database, session.token_hash)
        auth.security(service.database, "logout", session.user.name, client(request))
        response = redirect("/login?m=out")
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    if service.settings.oidc is not None:
        from scoring.serve.oidc import add_oidc_routes

        add_oidc_routes(app, service, signed_in)

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
    def justify(request: Request, form: PostedForm) -> Response:
        session = session_of(request, service)
        checked_form(request, form, session.csrf)
        choice = str(form.get("choice") or "")
        other = " ".join(auth.printable(form.get("other")).split())[:400]
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
