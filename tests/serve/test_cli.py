"""`harmrank users`, `harmrank access-log` and `harmrank verify-log` over the service database."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from typer.testing import CliRunner

from features.errors import HarmrankError
from scoring.cli import app
from scoring.db import engine, ledger, sqlite_url
from scoring.serve.auth import authenticate
from scoring.serve.web import NOT_CHOSEN

runner = CliRunner()


def invoke(*args: str, stdin: str | None = None):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args), input=stdin)


def refused(result) -> str:  # type: ignore[no-untyped-def]
    """The message of a user error (``harmrank`` prints it and exits 2: scoring.cli.main)."""
    assert isinstance(result.exception, HarmrankError), result.output
    return str(result.exception)


def test_users_add_prints_the_password_once_and_refuses_bad_input(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "s.sqlite")
    added = invoke("users", "add", "PC 1234", "--role", "officer", "--database", url)
    assert added.exit_code == 0, added.output
    password = added.output.split("Password (shown once): ")[1].strip()
    assert authenticate(url, "PC 1234", password, client="t", attempts=5, lock_minutes=15) is not None
    again = invoke("users", "add", "PC 1234", "--role", "officer", "--database", url)
    assert "already an account named 'PC 1234'" in refused(again)
    role = invoke("users", "add", "PC 5", "--role", "chief", "--database", url)
    assert "Unknown role 'chief'" in refused(role)
    name = invoke("users", "add", "=cmd|' /C calc'!A0", "--role", "officer", "--database", url)
    assert "is not a usable account name" in refused(name)
    short = invoke(
        "users", "add", "PC 6", "--role", "officer", "--password-stdin", "--database", url, stdin="short\n"
    )
    assert "at least 12 characters" in refused(short)
    given = invoke(
        "users",
        "add",
        "PC 7",
        "--role",
        "analyst",
        "--password-stdin",
        "--database",
        url,
        stdin="a long pass phrase\n",
    )
    assert given.exit_code == 0 and "Password" not in given.output
    listed = invoke("users", "list", "--database", url)
    assert "PC 1234" in listed.output and "analyst" in listed.output
    disabled = invoke("users", "disable", "PC 1234", "--database", url)
    assert disabled.exit_code == 0
    assert authenticate(url, "PC 1234", password, client="t", attempts=5, lock_minutes=15) is None
    reset = invoke("users", "reset", "PC 7", "--database", url)
    assert reset.exit_code == 0 and "shown once" in reset.output
    engine(url).dispose()


def test_access_log_prints_filters_and_exports(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "s.sqlite")
    invoke("users", "add", "PC 1", "--role", "officer", "--database", url)
    base = {
        "role": "officer",
        "action": "consult",
        "what": "person page",
        "run": "2026-11-01",
        "justification": "briefing",
        "client": "10.0.0.9",
    }
    ledger.append(
        url,
        "access_log",
        {**base, "at": "2026-11-02T09:00:00+00:00", "user_name": "PC 1", "person_id": "P0001"},
    )
    ledger.append(
        url,
        "access_log",
        {
            **base,
            "at": "2026-11-20T09:00:00+00:00",
            "user_name": "PC 2",
            "person_id": '=HYPERLINK("http://x")',
            "justification": NOT_CHOSEN,
        },
    )
    shown = invoke("access-log", "--person", "P0001", "--database", url)
    assert shown.exit_code == 0 and "Access log: 1 entries" in shown.output and "briefing" in shown.output
    since = invoke("access-log", "--since", "2026-11-10", "--database", url)
    assert "Access log: 2 entries" in since.output and "PC 2" in since.output
    # reading the log is itself logged, by the operating-system account, with the filter used
    assert "(command line) consult access log (person=P0001) person P0001" in since.output
    bad = invoke("access-log", "--since", "last week", "--database", url)
    assert bad.exit_code == 2 and "is not a date" in bad.output  # a usage error
    ledger.append(
        url,
        "access_log",
        {
            **base,
            "at": "2026-11-21T09:00:00+00:00",
            "user_name": "PC 3",
            "person_id": "P1\n#99 2026-11-22 PC 9 (officer) consult person page",
        },
    )
    forged = invoke("access-log", "--user", "PC 3", "--database", url)
    assert len(forged.output.strip().splitlines()) == 2  # the heading and one entry, on one line
    assert "person P1\\n#99" in forged.output
    out = tmp_path / "dpo.csv"
    written = invoke("access-log", "--user", "PC 2", "--csv", str(out), "--database", url)
    assert written.exit_code == 0 and "Wrote 1 entries" in written.output
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "seq,at,user_name,role,action,what,run,person_id,justification,client"
    assert "'=HYPERLINK" in lines[1]  # inert when the officer opens it in a spreadsheet
    engine(url).dispose()


def test_verify_log_checks_the_access_and_security_logs_too(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "s.sqlite")
    log = str(tmp_path / "reviews.sqlite")
    invoke("users", "add", "PC 1", "--role", "officer", "--database", url)
    ok = invoke("verify-log", "--log", log, "--database", url, "--config", str(tmp_path / "none.yaml"))
    assert ok.exit_code == 0, ok.output
    assert "Access log intact: 0 entries" in ok.output and "Security log intact: 1 entries" in ok.output
    with engine(url).begin() as conn:
        conn.execute(sa.text("DROP TRIGGER security_log_no_delete"))
        conn.execute(sa.text("DELETE FROM security_log"))
        conn.execute(
            sa.text("INSERT INTO security_log VALUES (1, 'x', 'login', 'PC 1', 'here', '', :g, :h)"),
            {"g": "0" * 64, "h": "f" * 64},
        )
    bad = invoke("verify-log", "--log", log, "--database", url, "--config", str(tmp_path / "none.yaml"))
    assert bad.exit_code == 1
    assert "The security log" in bad.output and "entry 1 was edited" in bad.output
    assert "the guard security_log_no_delete was removed" in bad.output
    engine(url).dispose()
