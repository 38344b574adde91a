"""Sign-in through the force's identity provider: OpenID Connect, authorisation code flow with PKCE.

``GET /auth/oidc/login?next=/path`` sends the browser to the provider with a fresh ``state``,
``nonce`` and PKCE (S256) challenge, kept with ``next`` in a signed, HttpOnly, SameSite=Lax cookie
that lasts 10 minutes (Lax: the provider sends the browser back from another site).
``GET /auth/callback`` checks ``state`` against that cookie, exchanges the code at the provider's
token endpoint (client secret from the environment variable ``client_secret_env``, never the
config file) and checks the ID token: signature by the provider's published keys (RS256 or ES256),
issuer, audience, nonce, expiry and issue time. Register ``https://<service>/auth/callback`` at the
provider, and set ``redirect_url`` to it behind a reverse proxy. The provider's metadata and keys
are fetched once and kept (the keys again when a token names a key id they lack). The state
cookie's key is made per process: a sign-in must finish in the process that began it.

Claims to roles
---------------
The account is named by the ID token's ``name_claim`` (``preferred_username`` by default); the
person's groups or roles are its ``role_claim`` (a list, or a space-separated string). The FIRST
key of ``role_map`` the person holds gives the harmrank role, so write the keys in priority order.
Nobody without a mapped value may sign in (403, and ``login-failed`` in the security log). The
account is made on first sign-in and its role follows the provider at each sign-in; a disabled
account stays disabled, and a local account's name cannot be taken over. The claims must be in the
ID token (configure the provider to add the groups there). In ``configs/default.yaml``::

    serve:
      oidc:
        issuer: https://login.force.example/realms/staff
        client_id: harmrank
        client_secret_env: HARMRANK_OIDC_SECRET   # the secret itself lives in the environment
        role_claim: groups
        role_map:                                 # first key held wins: order is priority
          harmrank-analysts: analyst
          harmrank-supervisors: supervisor
          harmrank-officers: officer
          harmrank-equality: equality-reviewer
          harmrank-admins: admin

The session cookie is SameSite=Strict, and browsers do not send it on a redirect that follows a
navigation from another site, so the callback answers with a page that moves on to ``next`` by
itself (a meta refresh, and a link) instead of a redirect.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
import warnings
from collections.abc import Callable, Mapping
from html import escape
from typing import Any
from urllib.parse import urlencode

import httpx
from authlib.deprecate import AuthlibDeprecationWarning
from fastapi import FastAPI, Request
from fastapi.responses import Response

from scoring.config import OidcSettings
from scoring.serve import auth
from scoring.serve.web import Service, client, html, local_path, pages, redirect

with warnings.catch_warnings():  # authlib.jose warns that joserfc will replace it in Authlib 2.0
    warnings.simplefilter("ignore", AuthlibDeprecationWarning)
    from authlib.jose import JsonWebKey, JsonWebToken
    from authlib.jose.errors import JoseError

STATE_COOKIE = "harmrank_oidc"
STATE_PATH = "/auth"
STATE_SECONDS = 600
LEEWAY = 60
TIMEOUT = 10.0
JWT = JsonWebToken(["RS256", "ES256"])
TITLES = {400: "Sign-in not completed", 403: "Not allowed", 502: "Sign-in service unavailable"}
STALE = "This sign-in was not started here, or took over 10 minutes. Start again from the sign-in page."
UNAVAILABLE = "The force's sign-in service could not be reached or gave an unusable answer. Try again later."
UNVERIFIED = "The force's sign-in service's answer could not be verified. Start again from the sign-in page."
NO_ROLE = "Your force account holds no group that gives a role in harmrank. Ask its administrator for access."


class Failure(Exception):
    """A sign-in refused or broken: the page's status and words, and the security log's entry."""

    def __init__(self, status: int, message: str, detail: str, name: str = "(unknown)") -> None:
        super().__init__(detail)
        self.status, self.message, self.detail, self.name = status, message, detail, name


def role_for(value: object, role_map: Mapping[str, str]) -> str | None:
    """The role of the first key of ``role_map`` among the claim's values (a list or a
    space-separated string); None when the person holds none."""
    held = set(value.split()) if isinstance(value, str) else set()
    if isinstance(value, list | tuple):
        held = {str(v) for v in value}
    return next((role for key, role in role_map.items() if key in held), None)


def pkce_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class Provider:
    """The provider as harmrank talks to it: metadata and keys (kept once fetched), token exchange."""

    def __init__(self, settings: OidcSettings) -> None:
        self.settings = settings
        self._metadata: dict[str, Any] | None = None
        self._keys: Any = None

    def _json(self, method: str, url: str, what: str, **options: Any) -> dict[str, Any]:
        try:
            answer = httpx.request(method, url, timeout=TIMEOUT, **options)
            data = answer.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise Failure(
                502, UNAVAILABLE, f"oidc: {what} failed ({type(exc).__name__}: {exc})"[:400]
            ) from None
        if answer.status_code != 200 or not isinstance(data, dict):
            error = data.get("error", "") if isinstance(data, dict) else ""
            raise Failure(502, UNAVAILABLE, f"oidc: {what} answered {answer.status_code} {error}"[:400])
        return data

    def metadata(self) -> dict[str, Any]:
        if self._metadata is None:
            issuer = self.settings.issuer.rstrip("/")
            data = self._json("GET", issuer + "/.well-known/openid-configuration", "discovery")
            endpoints = ("authorization_endpoint", "token_endpoint", "jwks_uri")
            if str(data.get("issuer", "")).rstrip("/") != issuer or not all(
                isinstance(data.get(k), str) for k in endpoints
            ):
                raise Failure(
                    502, UNAVAILABLE, "oidc: discovery document names another issuer or lacks endpoints"
                )
            self._metadata = data
        return self._metadata

    def keys(self, refresh: bool = False) -> Any:
        if self._keys is None or refresh:
            data = self._json("GET", self.metadata()["jwks_uri"], "keys")
            try:
                self._keys = JsonWebKey.import_key_set(data)
            except (JoseError, ValueError, KeyError, TypeError) as exc:
                raise Failure(502, UNAVAILABLE, f"oidc: unusable keys ({exc})"[:400]) from None
        return self._keys

    def exchange(self, code: str, verifier: str, redirect_uri: str) -> str:
        """The ID token for ``code`` (client_secret_post when the provider offers it, else basic)."""
        s = self.settings
        secret = os.environ.get(s.client_secret_env, "")
        if not secret:
            raise Failure(502, UNAVAILABLE, f"oidc: the client secret ({s.client_secret_env}) is not set")
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
            "client_id": s.client_id,
        }
        methods = self.metadata().get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
        basic = "client_secret_post" not in methods
        if not basic:
            form["client_secret"] = secret
        credentials = (s.client_id, secret) if basic else None
        tokens = self._json(
            "POST", self.metadata()["token_endpoint"], "token exchange", data=form, auth=credentials
        )
        if not isinstance(tokens.get("id_token"), str):
            raise Failure(502, UNAVAILABLE, "oidc: the token endpoint gave no id_token")
        return str(tokens["id_token"])

    def verify(self, id_token: str, nonce: str) -> dict[str, Any]:
        """The ID token's claims once its signature, issuer, audience, nonce and times are right."""
        s = self.settings
        options = {
            "iss": {"essential": True, "value": self.metadata()["issuer"]},
            "aud": {"essential": True, "value": s.client_id},
            "sub": {"essential": True},
            "exp": {"essential": True},
            "iat": {"essential": True},
            "nonce": {"essential": True, "value": nonce},
        }
        try:
            try:
                claims = JWT.decode(id_token, self.keys(), claims_options=options)
            except ValueError:  # a key id the kept keys lack: the provider may have rotated them
                claims = JWT.decode(id_token, self.keys(refresh=True), claims_options=options)
            claims.validate(leeway=LEEWAY)
        except (JoseError, ValueError) as exc:
            raise Failure(403, UNVERIFIED, f"oidc: id_token refused ({exc})"[:400]) from None
        aud = claims.get("aud")
        if isinstance(aud, list) and len(aud) > 1 and claims.get("azp") != s.client_id:
            raise Failure(403, UNVERIFIED, "oidc: id_token refused (several audiences, azp not harmrank)")
        return dict(claims)


def add_oidc_routes(app: FastAPI, service: Service, signed_in: Callable[[auth.User, str], Response]) -> None:
    """``/auth/oidc/login`` and ``/auth/callback``; ``signed_in`` starts the session."""
    settings = service.settings.oidc
    if settings is None:
        return
    provider, env, key = Provider(settings), pages(), secrets.token_bytes(32)

    def sign(flow: dict[str, str]) -> str:
        body = base64.urlsafe_b64encode(json.dumps({**flow, "at": int(time.time())}).encode()).decode()
        return body + "." + hmac.new(key, body.encode(), hashlib.sha256).hexdigest()

    def read_flow(cookie: str, state: str) -> dict[str, str]:
        body, _, mac = cookie.partition(".")
        good = hmac.compare_digest(
            mac.encode(), hmac.new(key, body.encode(), hashlib.sha256).hexdigest().encode()
        )
        flow = json.loads(base64.urlsafe_b64decode(body)) if good else {}
        if not flow or time.time() - flow["at"] > STATE_SECONDS:
            raise Failure(400, STALE, "oidc: no valid sign-in state (cookie missing, altered or expired)")
        if not hmac.compare_digest(str(flow["state"]).encode(), state.encode()):
            raise Failure(400, STALE, "oidc: the state did not match this browser's sign-in")
        return {k: str(v) for k, v in flow.items()}

    def forget(response: Response) -> Response:
        secure = service.settings.secure_cookies
        response.delete_cookie(STATE_COOKIE, path=STATE_PATH, secure=secure, httponly=True, samesite="lax")
        return response

    def failed(request: Request, failure: Failure) -> Response:
        auth.security(service.database, "login-failed", failure.name[:120], client(request), failure.detail)
        page = env.get_template("error.html").render(
            title=TITLES[failure.status], message=failure.message, service=None
        )
        return forget(html(page, failure.status))

    def onward(response: Response) -> Response:
        """``signed_in``'s redirect as a page that moves on by itself (a same-site navigation, so
        the browser sends the new SameSite=Strict session cookie with it)."""
        target = escape(response.headers["location"])
        page = html(
            f'<!DOCTYPE html><html lang="en-GB"><head><meta charset="utf-8">'
            f'<meta http-equiv="refresh" content="0; url={target}"><title>Signed in · harmrank</title>'
            f'</head><body><p>Signed in. <a href="{target}">Continue</a>.</p></body></html>'
        )
        for name, value in response.raw_headers:
            if name == b"set-cookie":
                page.raw_headers.append((name, value))
        return forget(page)

    def callback_url(request: Request) -> str:
        return settings.redirect_url or str(request.base_url) + "auth/callback"

    @app.get("/auth/oidc/login")
    def oidc_login(request: Request, next: str = "/runs") -> Response:
        try:
            endpoint = provider.metadata()["authorization_endpoint"]
        except Failure as failure:
            return failed(request, failure)
        state, nonce, verifier = (secrets.token_urlsafe(n) for n in (32, 32, 48))
        query = {
            "response_type": "code",
            "client_id": settings.client_id,
            "redirect_uri": callback_url(request),
            "scope": settings.scopes,
            "state": state,
            "nonce": nonce,
            "code_challenge": pkce_challenge(verifier),
            "code_challenge_method": "S256",
        }
        response = redirect(endpoint + ("&" if "?" in endpoint else "?") + urlencode(query))
        response.set_cookie(
            STATE_COOKIE,
            sign({"state": state, "nonce": nonce, "verifier": verifier, "next": local_path(next)}),
            max_age=STATE_SECONDS,
            httponly=True,
            samesite="lax",
            secure=service.settings.secure_cookies,
            path=STATE_PATH,
        )
        return response

    @app.get("/auth/callback")
    def oidc_callback(request: Request, code: str = "", state: str = "", error: str = "") -> Response:
        try:
            flow = read_flow(request.cookies.get(STATE_COOKIE, ""), state)
            if error or not code:
                raise Failure(
                    403, UNVERIFIED, f"oidc: the provider gave no code ({error[:80] or 'no error'})"
                )
            claims = provider.verify(
                provider.exchange(code, flow["verifier"], callback_url(request)), flow["nonce"]
            )
            name = claims.get(settings.name_claim)
            if not isinstance(name, str) or not name.strip():
                raise Failure(403, UNVERIFIED, f"oidc: the id_token has no {settings.name_claim}")
            name = name.strip()
            role = role_for(claims.get(settings.role_claim), settings.role_map)
            if role is None:
                raise Failure(403, NO_ROLE, "oidc: no mapped role", name)
            try:
                subject = f"{claims['iss']} {claims['sub']}"
                user = auth.oidc_user(service.database, name, role, client(request), subject)
            except auth.AccountError as exc:
                raise Failure(403, str(exc), f"oidc: {exc}"[:400], name) from None
        except Failure as failure:
            return failed(request, failure)
        auth.security(service.database, "login", user.name, client(request), "oidc")
        return onward(signed_in(user, flow["next"]))
