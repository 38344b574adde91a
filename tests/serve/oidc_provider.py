"""A small, real OpenID Connect provider for the service's tests, served by uvicorn on localhost.

It publishes a discovery document and its keys (``/jwks``), approves every authorisation request
at once for the person the test chose (``provider.next_user``), and at ``/token`` checks the client
secret (basic or post), the code (once only), the redirect URI and the PKCE verifier before it
gives an ID token signed RS256 (iss, aud, sub, nonce, iat, exp, preferred_username, groups).
``provider.auth_methods`` are the client authentication methods it advertises and accepts
(both by default). A test can spoil the next tokens: ``provider.claims`` are laid over their claims, and
``provider.signing_key`` signs them instead of the published key (under the published key id).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import socket
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlencode

import uvicorn
from authlib.deprecate import AuthlibDeprecationWarning
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

with warnings.catch_warnings():  # authlib.jose warns that joserfc will replace it in Authlib 2.0
    warnings.simplefilter("ignore", AuthlibDeprecationWarning)
    from authlib.jose import JsonWebKey, JsonWebToken

KEY_ID = "test-key-1"
LIFETIME = 300


def new_key() -> Any:
    """A fresh RSA signing key (2048 bits) under :data:`KEY_ID`."""
    return JsonWebKey.generate_key("RSA", 2048, is_private=True, options={"kid": KEY_ID})


@dataclass
class Provider:
    issuer: str
    users: dict[str, list[str]]
    client_id: str
    client_secret: str
    key: Any
    next_user: str = ""
    claims: dict[str, object] = field(default_factory=dict)
    signing_key: Any = None
    auth_methods: list[str] = field(default_factory=lambda: ["client_secret_basic", "client_secret_post"])
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    issued: list[dict[str, object]] = field(default_factory=list)


def challenge(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def routes(p: Provider) -> list[Route]:
    def discovery(request: Request) -> Response:
        return JSONResponse(
            {
                "issuer": p.issuer,
                "authorization_endpoint": f"{p.issuer}/authorize",
                "token_endpoint": f"{p.issuer}/token",
                "jwks_uri": f"{p.issuer}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": p.auth_methods,
            }
        )

    def authorize(request: Request) -> Response:
        q = request.query_params
        if (
            q.get("client_id") != p.client_id
            or q.get("response_type") != "code"
            or "openid" not in q.get("scope", "").split()
            or q.get("code_challenge_method") != "S256"
            or not q.get("code_challenge")
            or not q.get("redirect_uri")
            or p.next_user not in p.users
        ):
            return JSONResponse({"error": "invalid_request"}, 400)
        code = secrets.token_urlsafe(16)
        p.codes[code] = {
            "user": p.next_user,
            "nonce": q.get("nonce", ""),
            "challenge": q["code_challenge"],
            "redirect_uri": q["redirect_uri"],
        }
        query = urlencode({"code": code, "state": q.get("state", "")})
        return RedirectResponse(f"{q['redirect_uri']}?{query}", 302)

    async def token(request: Request) -> Response:
        form = await request.form()
        client_id, secret = str(form.get("client_id") or ""), str(form.get("client_secret") or "")
        header = request.headers.get("authorization", "")
        used = "client_secret_basic" if header.startswith("Basic ") else "client_secret_post"
        if used not in p.auth_methods:
            return JSONResponse({"error": "invalid_client"}, 401)
        if header.startswith("Basic "):
            client_id, _, secret = (
                unquote(part) for part in base64.b64decode(header[6:]).decode().partition(":")
            )
        if client_id != p.client_id or not secrets.compare_digest(secret, p.client_secret):
            return JSONResponse({"error": "invalid_client"}, 401)
        grant = p.codes.pop(str(form.get("code") or ""), None)
        if (
            grant is None
            or form.get("grant_type") != "authorization_code"
            or form.get("redirect_uri") != grant["redirect_uri"]
            or challenge(str(form.get("code_verifier") or "")) != grant["challenge"]
        ):
            return JSONResponse({"error": "invalid_grant"}, 400)
        now, name = int(time.time()), grant["user"]
        claims: dict[str, object] = {
            "iss": p.issuer,
            "aud": p.client_id,
            "sub": f"subject-{name}",
            "nonce": grant["nonce"],
            "iat": now,
            "exp": now + LIFETIME,
            "preferred_username": name,
            "groups": p.users[name],
            **p.claims,
        }
        p.issued.append(claims)
        signed = JsonWebToken(["RS256"]).encode(
            {"alg": "RS256", "kid": KEY_ID, "typ": "JWT"}, claims, p.signing_key or p.key
        )
        return JSONResponse(
            {
                "access_token": secrets.token_urlsafe(24),
                "token_type": "Bearer",
                "expires_in": LIFETIME,
                "id_token": signed.decode("ascii"),
            }
        )

    def jwks(request: Request) -> Response:
        return JSONResponse({"keys": [{**p.key.as_dict(is_private=False), "use": "sig", "alg": "RS256"}]})

    return [
        Route("/.well-known/openid-configuration", discovery),
        Route("/authorize", authorize),
        Route("/token", token, methods=["POST"]),
        Route("/jwks", jwks),
    ]


@contextmanager
def oidc_provider(users: dict[str, list[str]], client_id: str, client_secret: str) -> Iterator[Provider]:
    """The provider on a free port of 127.0.0.1 (``users``: name -> groups); stopped on exit."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    issuer = f"http://127.0.0.1:{sock.getsockname()[1]}"
    provider = Provider(issuer, users, client_id, client_secret, new_key())
    config = uvicorn.Config(Starlette(routes=routes(provider)), log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            sock.close()
            raise RuntimeError("the test OIDC provider did not start")
        time.sleep(0.02)
    try:
        yield provider
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
