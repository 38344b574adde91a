"""Accounts, sign-in and sessions of the review service.

- **Accounts** (``users``): a name, one role (:data:`ROLES`), and for a local account an argon2
  password hash (argon2-cffi's defaults). Accounts are disabled, never deleted: the logs name them.
- **Sign-in**: a wrong password counts against the account; after ``lockout_attempts`` failures in
  a row it is locked for ``lockout_minutes``, and while locked even the right password is refused.
  The page says the same thing for a wrong name, a wrong password, a locked and a disabled account,
  so it never tells a stranger which names exist. Every attempt goes in the security log.
- **Sessions**: a random token in an HttpOnly, SameSite=Strict cookie; the database keeps only its
  SHA-256. A session ends ``idle_minutes`` after its last request, ``session_hours`` after sign-in,
  at sign-out, or when its account is disabled. Each session has its own CSRF token, and the s62
  justification chosen on the first look at a person.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from features.errors import HarmrankError
from scoring.db import ensure, ledger, sessions, transaction, users
from scoring.terminal import invisible

ROLES = ("officer", "supervisor", "equality-reviewer", "analyst", "admin")
PERMISSIONS: dict[str, frozenset[str]] = {
    "officer": frozenset({"list", "person", "decide"}),
    "supervisor": frozenset({"list", "person", "decide", "progress", "assign"}),
    "equality-reviewer": frozenset({"reports"}),
    "analyst": frozenset({"list", "person", "decide", "progress", "assign", "reports", "runs", "access_log"}),
    "admin": frozenset({"users"}),
}
"""What each role may do: read the list, open a person page, record a decision, see review progress
and who decided what, assign people to officers, read the aggregate reports (equality, model,
governance), see run status, read and export the access log, manage accounts."""
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._@'-]{0,118}[A-Za-z0-9.]|[A-Za-z0-9]{2}")
MIN_PASSWORD = 12
HASHER = PasswordHasher()
DUMMY_HASH = HASHER.hash("harmrank: no account has this password")
"""Checked against when there is no account, so that a wrong name costs as long as a wrong password."""


class AccountError(HarmrankError):
    """An account cannot be added or changed: bad name, role or password, or unknown account."""


@dataclass(frozen=True)
class User:
    user_id: int
    name: str
    role: str
    source: str

    def may(self, permission: str) -> bool:
        return permission in PERMISSIONS.get(self.role, frozenset())


@dataclass(frozen=True)
class Session:
    user: User
    token_hash: str
    csrf: str
    justification: str | None


def now_utc() -> datetime:
    return datetime.now(UTC)


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def security(
    url: str, event: str, user_name: str, client: str, detail: str = "", at: datetime | None = None
) -> None:
    """One entry in the security log (sign-ins, failures, lock-outs, account changes)."""
    ledger.append(
        url,
        "security_log",
        {
            "at": stamp(at or now_utc()),
            "event": event,
            "user_name": user_name,
            "client": client,
            "detail": detail,
        },
    )


def check_name(name: str) -> str:
    """An account name: 2-120 letters, digits, spaces and ``._@'-``, starting and ending with a letter
    or digit; no control or invisible characters."""
    name = str(name).strip()
    if any(invisible(ch) for ch in name) or not NAME.fullmatch(name):
        raise AccountError(
            f"{name!r} is not a usable account name: use 2-120 letters, digits, spaces and . _ @ ' -, "
            "starting and ending with a letter or digit (a collar number or force login, say)."
        )
    return name


def check_role(role: str) -> str:
    if role not in ROLES:
        raise AccountError(f"Unknown role {role!r}; use one of: {', '.join(ROLES)}.")
    return role


def new_password() -> str:
    """A generated password: 16 URL-safe characters (96 bits)."""
    return secrets.token_urlsafe(12)


def add_user(
    url: str,
    name: str,
    role: str,
    *,
    password: str | None = None,
    actor: str = "command line",
    client: str = "local",
) -> str:
    """Add a local account; returns its password (generated when none is given, shown once)."""
    ensure(url)
    name, role = check_name(name), check_role(role)
    password = new_password() if password is None else password
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"A password needs at least {MIN_PASSWORD} characters.")
    with transaction(url) as conn:
        if conn.execute(sa.select(users.c.user_id).where(users.c.name == name)).first():
            raise AccountError(f"There is already an account named {name!r}; accounts are never reused.")
        conn.execute(
            users.insert().values(
                name=name,
                role=role,
                source="local",
                password_hash=HASHER.hash(password),
                disabled=False,
                failed_logins=0,
                created_at=stamp(now_utc()),
            )
        )
    security(url, "user-added", name, client, f"role {role}, by {actor}")
    return password


def oidc_user(url: str, name: str, role: str, client: str, subject: str) -> User:
    """The account of someone signed in by the force's provider, found by ``subject`` (the
    provider's issuer and ``sub``: stable, never reassigned), made on first sign-in under ``name``
    and keeping that name, its role kept up to date with the provider's claims.

    Refused (:class:`AccountError`): a disabled account; a name that is a local account, or an
    account of another subject at the provider.
    """
    ensure(url)
    name, role = check_name(name), check_role(role)
    try:
        row = _subject_row(url, name, role, subject)
    except sa.exc.IntegrityError:  # a first sign-in in two tabs at once: the second finds the first's row
        row = _subject_row(url, name, role, subject)
    if row.disabled:
        raise AccountError(f"The account {row.name!r} is disabled.")
    return User(int(row.user_id), str(row.name), role, "oidc")


def _subject_row(url: str, name: str, role: str, subject: str) -> sa.Row:
    with transaction(url) as conn:
        row = conn.execute(sa.select(users).where(users.c.subject == subject)).first()
        if row is None:
            return _bind_subject(conn, name, role, subject)
        if row.role != role:
            conn.execute(users.update().where(users.c.user_id == row.user_id).values(role=role))
        return row


def _bind_subject(conn: sa.Connection, name: str, role: str, subject: str) -> sa.Row:
    """The row for a subject signing in for the first time: a new account named ``name``."""
    taken = conn.execute(sa.select(users).where(users.c.name == name)).first()
    if taken is not None and taken.source != "oidc":
        raise AccountError(f"{name!r} is a local account; the force's sign-in cannot take it over.")
    if taken is not None:
        raise AccountError(
            f"The account {name!r} belongs to another person at the force's sign-in; ask an admin."
        )
    conn.execute(
        users.insert().values(
            name=name,
            role=role,
            source="oidc",
            subject=subject,
            disabled=False,
            failed_logins=0,
            created_at=stamp(now_utc()),
        )
    )
    return conn.execute(sa.select(users).where(users.c.subject == subject)).one()


def reset_password(url: str, name: str, *, actor: str = "command line", client: str = "local") -> str:
    """A new generated password for a local account (lock-out cleared, sessions ended); returned once."""
    ensure(url)
    password = new_password()
    with transaction(url) as conn:
        row = conn.execute(sa.select(users.c.user_id, users.c.source).where(users.c.name == name)).first()
        if row is None or row.source != "local":
            raise AccountError(f"There is no local account named {name!r}; `harmrank users list` shows them.")
        conn.execute(
            users.update()
            .where(users.c.user_id == row.user_id)
            .values(password_hash=HASHER.hash(password), failed_logins=0, locked_until=None)
        )
        conn.execute(sessions.update().where(sessions.c.user_id == row.user_id).values(ended=True))
    security(url, "password-reset", name, client, f"by {actor}")
    return password


def demo_accounts(url: str) -> dict[str, str]:
    """One account per role named ``demo-<role>`` (added, or its password reset): name -> password."""
    ensure(url)
    existing = {str(u["name"]) for u in list_users(url)}
    out = {}
    for role in ROLES:
        name = f"demo-{role}"
        out[name] = (
            reset_password(url, name, actor="demo")
            if name in existing
            else add_user(url, name, role, actor="demo")
        )
    return out


def disable_user(url: str, name: str, *, actor: str = "command line", client: str = "local") -> None:
    """Disable an account and end its sessions (the account stays: the logs name it)."""
    ensure(url)
    with transaction(url) as conn:
        row = conn.execute(sa.select(users.c.user_id).where(users.c.name == name)).first()
        if row is None:
            raise AccountError(f"There is no account named {name!r}; `harmrank users list` shows them.")
        conn.execute(users.update().where(users.c.user_id == row.user_id).values(disabled=True))
        conn.execute(sessions.update().where(sessions.c.user_id == row.user_id).values(ended=True))
    security(url, "user-disabled", name, client, f"by {actor}")


def list_users(url: str) -> list[dict[str, object]]:
    """Every account: name, role, source, disabled, locked_until, created_at; by name."""
    ensure(url)
    cols = [users.c[c] for c in ("name", "role", "source", "disabled", "locked_until", "created_at")]
    with transaction(url) as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(*cols).order_by(users.c.name))]


def _verify(stored: str | None, password: str) -> bool:
    """Whether ``password`` matches ``stored``; the same argon2 work when there is no hash to check."""
    try:
        return bool(HASHER.verify(stored or DUMMY_HASH, password))
    except (VerificationError, InvalidHashError):
        return False


def _count_attempt(url: str, user_id: int, at: datetime) -> tuple[int, str | None]:
    """Count one sign-in attempt on the account *before* checking the password, in one statement,
    so attempts made at the same time each see their own number; returns (attempts in a row,
    locked_until)."""
    with transaction(url) as conn:
        conn.execute(
            users.update().where(users.c.user_id == user_id).values(failed_logins=users.c.failed_logins + 1)
        )
        row = conn.execute(
            sa.select(users.c.failed_logins, users.c.locked_until).where(users.c.user_id == user_id)
        ).one()
    return int(row.failed_logins), row.locked_until


def authenticate(
    url: str,
    name: str,
    password: str,
    *,
    client: str,
    attempts: int,
    lock_minutes: int,
    at: datetime | None = None,
) -> User | None:
    """The account when ``name`` and ``password`` are right and it is neither disabled nor locked.

    Each attempt is counted before the password is checked (attempts made at once cannot slip
    past the count); the attempt that reaches ``attempts`` failures in a row locks the account
    for ``lock_minutes``, and a success clears the count. Every branch does the same argon2 work,
    so the time taken says nothing about whether a name exists or is locked. Every outcome is
    written to the security log.
    """
    at = at or now_utc()
    shown = printable(name)[:120]
    with transaction(url) as conn:
        row = conn.execute(sa.select(users).where(users.c.name == shown.strip())).first()
    local = row is not None and row.source == "local" and bool(row.password_hash)
    if row is None or not local:
        _verify(None, password)
        security(url, "login-failed", shown, client, "no such local account", at)
        return None
    if row.disabled:
        _verify(row.password_hash, password)
        security(url, "login-failed", row.name, client, "account disabled", at)
        return None
    count, locked_until = _count_attempt(url, int(row.user_id), at)
    if locked_until and locked_until > stamp(at):
        _verify(row.password_hash, password)
        security(url, "login-failed", row.name, client, f"account locked until {locked_until}", at)
        return None
    if count > attempts:  # others in flight used up the attempts: refuse without a check
        _verify(None, password)
        security(url, "login-failed", row.name, client, f"attempt {count}: over the limit of {attempts}", at)
        return None
    if not _verify(row.password_hash, password):
        security(url, "login-failed", row.name, client, f"wrong password ({count} in a row)", at)
        if count >= attempts:
            until = stamp(at + timedelta(minutes=lock_minutes))
            with transaction(url) as conn:
                conn.execute(
                    users.update()
                    .where(users.c.user_id == row.user_id)
                    .values(failed_logins=0, locked_until=until)
                )
            security(
                url, "locked", row.name, client, f"{count} failed sign-ins; locked for {lock_minutes} min", at
            )
        return None
    with transaction(url) as conn:
        update: dict[str, object] = {"failed_logins": 0, "locked_until": None}
        if HASHER.check_needs_rehash(row.password_hash):
            update["password_hash"] = HASHER.hash(password)
        conn.execute(users.update().where(users.c.user_id == row.user_id).values(**update))
    security(url, "login", row.name, client, "local password", at)
    return User(int(row.user_id), row.name, row.role, "local")


def printable(text: object) -> str:
    """``text`` without control and invisible characters (they never belong in a name, an id or a
    justification, and a NUL is refused by PostgreSQL)."""
    return "".join(" " if ch in "\n\t" else ch for ch in str(text or "") if not invisible(ch))


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start_session(url: str, user: User, at: datetime | None = None) -> str:
    """A new session for ``user``; returns the cookie token (stored only as its hash)."""
    token = secrets.token_urlsafe(32)
    moment = stamp(at or now_utc())
    with transaction(url) as conn:
        conn.execute(
            sessions.insert().values(
                token_hash=token_digest(token),
                user_id=user.user_id,
                csrf=secrets.token_urlsafe(32),
                created_at=moment,
                last_seen=moment,
                justification=None,
                ended=False,
            )
        )
    return token


def find_session(
    url: str, token: str | None, *, idle_minutes: int, session_hours: int, at: datetime | None = None
) -> tuple[Session | None, str]:
    """The live session of ``token`` (touched: its idle clock restarts), or None and why not
    (``"none"``, ``"expired"``, ``"ended"``)."""
    if not token:
        return None, "none"
    at = at or now_utc()
    digest = token_digest(token)
    query = sa.select(sessions, users.c.name, users.c.role, users.c.source, users.c.disabled).join(users)
    with transaction(url) as conn:
        row = conn.execute(query.where(sessions.c.token_hash == digest)).first()
        if row is None:
            return None, "none"
        if row.ended or row.disabled:
            return None, "ended"
        idle = at - datetime.fromisoformat(row.last_seen) > timedelta(minutes=idle_minutes)
        old = at - datetime.fromisoformat(row.created_at) > timedelta(hours=session_hours)
        if idle or old:
            conn.execute(sessions.update().where(sessions.c.token_hash == digest).values(ended=True))
            return None, "expired"
        conn.execute(sessions.update().where(sessions.c.token_hash == digest).values(last_seen=stamp(at)))
    user = User(int(row.user_id), row.name, row.role, row.source)
    return Session(user, digest, row.csrf, row.justification), "live"


def end_session(url: str, token_hash: str) -> None:
    with transaction(url) as conn:
        conn.execute(sessions.update().where(sessions.c.token_hash == token_hash).values(ended=True))


def set_justification(url: str, token_hash: str, justification: str) -> None:
    with transaction(url) as conn:
        conn.execute(
            sessions.update().where(sessions.c.token_hash == token_hash).values(justification=justification)
        )


def officers(url: str) -> list[str]:
    """Names of the enabled accounts that may record decisions (for assignment)."""
    roles = [r for r, p in PERMISSIONS.items() if "decide" in p]
    query = sa.select(users.c.name).where(users.c.role.in_(roles), users.c.disabled.is_(False))
    with transaction(url) as conn:
        return [str(r[0]) for r in conn.execute(query.order_by(users.c.name))]
