"""Accounts in the review service (the admin role): list them, add one with a generated password
shown once, disable one (its sessions end; the account stays, since the logs name it)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import Response

from scoring.serve import auth
from scoring.serve.web import (
    PostedForm,
    Service,
    bar,
    checked_form,
    client,
    need,
    redirect,
    render,
    session_of,
)


def add_routes(app: FastAPI, service: Service) -> None:
    """Accounts: list, add (a generated password, shown once), disable."""

    def users_page(session: auth.Session, status: int = 200, **extra: object) -> Response:
        users = [
            {
                **u,
                "state": "disabled"
                if u["disabled"]
                else (
                    f"locked until {u['locked_until']}"
                    if u["locked_until"] and str(u["locked_until"]) > auth.stamp(auth.now_utc())
                    else "active"
                ),
            }
            for u in auth.list_users(service.database)
        ]
        return render(
            "users.html",
            status,
            title="Accounts",
            service=bar(session),
            users=users,
            roles=auth.ROLES,
            **{"created": None, "error": "", **extra},
        )

    @app.get("/admin/users")
    def users(request: Request) -> Response:
        session = session_of(request, service)
        need(service, session, "users", request, "accounts")
        return users_page(session)

    @app.post("/admin/users")
    def add(request: Request, form: PostedForm) -> Response:
        session = session_of(request, service)
        checked_form(request, form, session.csrf)
        need(service, session, "users", request, "accounts")
        name, role = str(form.get("name") or ""), str(form.get("role") or "")
        try:
            password = auth.add_user(
                service.database, name, role, actor=session.user.name, client=client(request)
            )
        except auth.AccountError as exc:
            return users_page(session, 400, error=str(exc))
        return users_page(session, created={"name": name.strip(), "role": role, "password": password})

    @app.post("/admin/users/disable")
    def disable(request: Request, form: PostedForm) -> Response:
        session = session_of(request, service)
        checked_form(request, form, session.csrf)
        need(service, session, "users", request, "accounts")
        try:
            auth.disable_user(
                service.database, str(form.get("name") or ""), actor=session.user.name, client=client(request)
            )
        except auth.AccountError as exc:
            return users_page(session, 400, error=str(exc))
        return redirect("/admin/users")
