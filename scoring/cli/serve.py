"""`harmrank serve`, `harmrank users` and `harmrank access-log` (registered in :mod:`scoring.cli.app`).

``serve`` starts the review service (uvicorn, localhost by default); ``users add|disable|list``
manage its local accounts; ``access-log`` prints the s62 access log with filters (or writes it
as CSV for the data protection officer).
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from scoring.cli.common import DEFAULT_CONFIG, config_option, console, open_config
from scoring.terminal import one_line, plain, safe

if TYPE_CHECKING:
    from scoring.config import RunConfig

ConfigOption = Annotated[
    Path, config_option(help="Run configuration (YAML): the runs, the review log and the serve section.")
]
DatabaseOption = Annotated[
    str | None,
    typer.Option("--database", help="SQLAlchemy URL of the service database (default: serve.database)."),
]
users = typer.Typer(no_args_is_help=True, help="Manage the review service's local accounts.")


def _config(config: Path) -> RunConfig:
    return open_config(config)


def _database(config: Path, database: str | None) -> str:
    from scoring.db import url_of

    chosen = database or _config(config).serve.database
    return url_of(chosen)


def _command() -> str:
    """How this program was called, as the user would type it again (relative inside this folder)."""
    path = Path(sys.argv[0])
    if not path.exists() or path.name != "harmrank":
        return "harmrank"
    if not path.is_absolute():
        return shlex.quote(str(path))
    try:
        return shlex.quote(str(path.relative_to(Path.cwd())))
    except ValueError:
        return shlex.quote(str(path))


def serve(
    runs: Annotated[
        Path | None, typer.Option("--runs", help="The runs directory (default: runs_dir).")
    ] = None,
    host: Annotated[
        str | None, typer.Option(help="Address to listen on (default: serve.host, 127.0.0.1).")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: serve.port, 8080).")] = None,
    config: ConfigOption = DEFAULT_CONFIG,
    database: DatabaseOption = None,
    proxy: Annotated[
        str,
        typer.Option(help="Addresses of trusted reverse proxies whose X-Forwarded-For is believed."),
    ] = "127.0.0.1",
) -> None:
    """Start the review service: officers sign in, read the list and record decisions."""
    import uvicorn

    from scoring.serve.app import create_app
    from scoring.serve.web import Service

    cfg = _config(config)
    settings = cfg.serve
    service = Service(
        runs_dir=runs or cfg.runs_dir,
        database=_database(config, database),
        review_log=cfg.scoring.review_log,
        settings=settings,
    )
    app = create_app(service)
    bind, at = host or settings.host, port or settings.port
    console.print(
        f"harmrank review service on http://{bind}:{at}/ (runs: {safe(service.runs_dir)})", highlight=False
    )
    uvicorn.run(app, host=bind, port=at, proxy_headers=True, forwarded_allow_ips=proxy, log_level="warning")


@users.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="The account's name: a collar number or force login.")],
    role: Annotated[
        str, typer.Option("--role", help="officer, supervisor, equality-reviewer, analyst or admin.")
    ],
    password_stdin: Annotated[
        bool,
        typer.Option(
            "--password-stdin", help="Read the password from standard input (else one is generated)."
        ),
    ] = False,
    config: ConfigOption = DEFAULT_CONFIG,
    database: DatabaseOption = None,
) -> None:
    """Add a local account; prints its generated password once."""
    from scoring.serve.auth import add_user

    given = sys.stdin.readline().rstrip("\n") if password_stdin else None
    password = add_user(_database(config, database), name, role, password=given)
    print(f"Added {plain(name.strip())} ({role}).", flush=True)
    if given is None:
        print(f"Password (shown once): {password}", flush=True)


@users.command("disable")
def users_disable(
    name: Annotated[str, typer.Argument(help="The account to disable (it is kept: the logs name it).")],
    config: ConfigOption = DEFAULT_CONFIG,
    database: DatabaseOption = None,
) -> None:
    """Disable an account and end its sessions."""
    from scoring.serve.auth import disable_user

    disable_user(_database(config, database), name)
    print(f"Disabled {plain(name)}; its sessions are ended.", flush=True)


@users.command("reset")
def users_reset(
    name: Annotated[str, typer.Argument(help="The local account whose password is forgotten.")],
    config: ConfigOption = DEFAULT_CONFIG,
    database: DatabaseOption = None,
) -> None:
    """Give a local account a new generated password (printed once); clears a lock-out."""
    from scoring.serve.auth import reset_password

    password = reset_password(_database(config, database), name)
    print(f"New password for {plain(name)} (shown once): {password}", flush=True)


@users.command("demo")
def users_demo(config: ConfigOption = DEFAULT_CONFIG, database: DatabaseOption = None) -> None:
    """For a demonstration world only: one account per role (demo-officer, ...), new passwords shown once."""
    from scoring.serve.auth import demo_accounts

    url = _database(config, database)
    accounts = demo_accounts(url)
    cfg = _config(config)
    print("Review service demo accounts (passwords shown once; run this again for new ones):", flush=True)
    for name, password in accounts.items():
        print(f"  {name:<26} {password}", flush=True)
    print(
        f"Start the service:  {_command()} serve --config {shlex.quote(str(config))}\n"
        f"Then open           http://{cfg.serve.host}:{cfg.serve.port}/  and sign in as one of the accounts.",
        flush=True,
    )


@users.command("list")
def users_list(config: ConfigOption = DEFAULT_CONFIG, database: DatabaseOption = None) -> None:
    """List the accounts."""
    from scoring.serve.auth import list_users

    table = Table()
    for col in ("name", "role", "sign-in", "state", "created (UTC)"):
        table.add_column(col)
    for u in list_users(_database(config, database)):
        state = (
            "disabled"
            if u["disabled"]
            else ("locked until " + str(u["locked_until"]) if u["locked_until"] else "active")
        )
        table.add_row(plain(u["name"]), str(u["role"]), str(u["source"]), state, str(u["created_at"]))
    console.print(table)


def access_log(
    person: Annotated[str | None, typer.Option("--person", help="Only entries about this person.")] = None,
    user: Annotated[str | None, typer.Option("--user", help="Only entries by this account.")] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="Only entries from this date on (YYYY-MM-DD).")
    ] = None,
    csv: Annotated[
        Path | None, typer.Option("--csv", help="Write the entries to this CSV file instead.")
    ] = None,
    config: ConfigOption = DEFAULT_CONFIG,
    database: DatabaseOption = None,
) -> None:
    """Print the access log (DPA 2018 s62): who consulted or disclosed what, when and why."""
    from scoring.cli.common import parse_date
    from scoring.serve.accesslog import as_csv, consulted, entries

    if since:
        parse_date(since, "--since")
    url = _database(config, database)
    rows = entries(url, person=person, user=user, since=since)
    consulted(url, "disclose" if csv is not None else "consult", person=person, user=user, since=since)
    if csv is not None:
        from scoring.io import write_text

        write_text(as_csv(rows), csv)
        print(f"Wrote {len(rows):,} entries to {csv}.", flush=True)
        return
    print(f"Access log: {len(rows):,} entries, oldest first", flush=True)
    for r in rows:
        f = {k: one_line(v) for k, v in r.items()}  # one entry, one line, whatever a field holds
        person = f" person {f['person_id']}" if f["person_id"] else ""
        run = f" run {f['run']}" if f["run"] else ""
        print(
            f"#{f['seq']} {f['at']} {f['user_name']} ({f['role']}) {f['action']} {f['what']}{run}{person}; "
            f"why: {f['justification']}; from {f['client']}",
            flush=True,
        )
