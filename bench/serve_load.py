"""Load on the review service: how fast are the list and person pages with many officers at once?

    python bench/serve_load.py [--runs runs] [--as-of 2026-11-01] [--users 20] [--requests 10]
                               [--rounds 3] [--database postgresql+psycopg://user@host/db]

Starts ``harmrank serve`` on a free local port over the runs directory, with a configuration, a
review log and (unless ``--database`` is given) a SQLite service database in a temporary directory,
after adding ``--users`` officer accounts with ``harmrank users add``. Each simulated officer signs in
through the sign-in form with its own HTTP client, chooses the s62 justification, and then all of
them at once (a thread each) alternate ``--requests`` list pages and ``--requests`` person pages
(a different listed person each time); every request is timed and must answer 200. One list page
and one person page are fetched first, untimed in the table, so the run's frames are loaded before
the measurement (their times are printed as the cold start).

Prints, per round, each page kind's median and 95th percentile, then a table of the median across
rounds of each page kind's median, p95 and max (ms) and of the requests per second, the server's
peak resident memory (``VmHWM``), the machine's CPU count and the database kind. The client threads
share the machine with the server, so the figures are a floor, not a capacity. Asserts nothing;
failures (a status other than 200, or no answer) are counted and the first few printed.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import httpx

RUN_NAME = re.compile(r"\d{4}-\d{2}-\d{2}")
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
PASSWORD = "bench-load-password-0001"
JUSTIFICATION = "monthly list review"
KINDS = ("list", "person")
SHOWN = 5  # failures printed
HARMRANK = Path(sys.executable).parent / "harmrank"


@dataclass
class Round:
    """One round's timings (ms) per page kind, its wall time and its failures."""

    ms: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in KINDS})
    wall: float = 0.0
    failures: list[str] = field(default_factory=list)

    def requests(self) -> int:
        return sum(len(v) for v in self.ms.values())


def newest_run(runs: Path) -> str:
    found = sorted(p.parent.name for p in runs.glob("*/manifest.json") if RUN_NAME.fullmatch(p.parent.name))
    if not found:
        sys.exit(f"No run (a dated folder with manifest.json) in {runs}.")
    return found[-1]


def listed_people(runs: Path, as_of: str) -> list[str]:
    with (runs / as_of / "top100.csv").open(encoding="utf-8", newline="") as f:
        return [row["person_id"] for row in csv.DictReader(f)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[18] if len(values) > 1 else values[0]


def peak_rss_mb(pid: int) -> float | None:
    """The process's peak resident set (VmHWM) in MB, where /proc has it."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def harmrank(*args: str, stdin: str | None = None) -> None:
    done = subprocess.run([str(HARMRANK), *args], input=stdin, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"harmrank {' '.join(args[:3])} failed ({done.returncode}):\n{done.stdout}{done.stderr}")


def wait_until_up(server: subprocess.Popen, base: str, log: Path, timeout: float = 120.0) -> float:
    """Seconds until the service answers GET /login; exits with its log if it stops or never answers."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if server.poll() is not None:
            sys.exit(f"harmrank serve stopped ({server.returncode}):\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(base + "/login", timeout=2).status_code == 200:
                return time.perf_counter() - start
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    sys.exit(f"harmrank serve did not answer within {timeout:.0f} s:\n{log.read_text()[-3000:]}")


def expect(response: httpx.Response, status: int, what: str) -> httpx.Response:
    if response.status_code != status:
        sys.exit(
            f"{what}: {response.request.method} {response.request.url} gave {response.status_code} "
            f"(expected {status}):\n{response.text[:800]}"
        )
    return response


def sign_in(base: str, name: str) -> httpx.Client:
    """A client signed in as ``name`` with the justification chosen."""
    http = httpx.Client(base_url=base, timeout=120, follow_redirects=False)
    page = expect(http.get("/login"), 200, "sign-in page")
    token = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
    form = {"csrf": token, "name": name, "password": PASSWORD, "next": "/runs"}
    signed = expect(http.post("/login", data=form), 303, "sign-in")
    if "harmrank_session" not in http.cookies:
        sys.exit(f"sign-in as {name} set no session cookie (went to {signed.headers.get('location')}).")
    page = expect(http.get("/justify"), 200, "justification page")
    token = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
    form = {"csrf": token, "choice": JUSTIFICATION, "next": "/runs"}
    expect(http.post("/justify", data=form), 303, "justification")
    return http


def timed(http: httpx.Client, url: str) -> tuple[float, int, str]:
    start = time.perf_counter()
    try:
        response = http.get(url)
        status, text = response.status_code, response.text
    except httpx.HTTPError as exc:
        status, text = 0, f"{type(exc).__name__}: {exc}"
    return (time.perf_counter() - start) * 1000, status, text


def measure(clients: list[httpx.Client], as_of: str, people: list[str], requests: int, offset: int) -> Round:
    """Every client at once: ``requests`` list pages and ``requests`` person pages, alternating."""
    found, lock = Round(), threading.Lock()
    start = threading.Barrier(len(clients) + 1)

    def officer(i: int) -> None:
        http, mine = clients[i], Round()
        start.wait()
        for j in range(requests):
            person = people[(offset + i * requests + j) % len(people)]
            for kind, url in (
                ("list", f"/runs/{as_of}/"),
                ("person", f"/runs/{as_of}/people/{quote(person, safe='')}"),
            ):
                ms, status, text = timed(http, url)
                mine.ms[kind].append(ms)
                if status != 200:
                    excerpt = " ".join(re.sub(r"<[^>]+>", " ", text).split())[:300]
                    mine.failures.append(f"{status} GET {url} ({ms:.0f} ms): {excerpt}")
        with lock:
            for kind in KINDS:
                found.ms[kind] += mine.ms[kind]
            found.failures += mine.failures

    threads = [threading.Thread(target=officer, args=(i,)) for i in range(len(clients))]
    for t in threads:
        t.start()
    start.wait()
    began = time.perf_counter()
    for t in threads:
        t.join()
    found.wall = time.perf_counter() - began
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=Path, default=Path("runs"))
    parser.add_argument("--as-of", default=None, help="The run to load (default: the newest in --runs).")
    parser.add_argument("--users", type=int, default=20, help="Officers requesting at once.")
    parser.add_argument("--requests", type=int, default=10, help="Requests per officer per page kind.")
    parser.add_argument("--rounds", type=int, default=3, help="Repeats; the table gives their median.")
    parser.add_argument("--database", default=None, help="Service database URL (default: temp SQLite).")
    args = parser.parse_args()
    runs = args.runs.resolve()
    as_of = args.as_of or newest_run(runs)
    people = listed_people(runs, as_of)

    with tempfile.TemporaryDirectory(prefix="serve_load_") as tmp:
        temp = Path(tmp)
        database = args.database or f"sqlite:///{temp / 'service.sqlite'}"
        config = temp / "config.yaml"
        settings = {
            "runs_dir": str(runs),
            "scoring": {"review_log": str(temp / "reviews.sqlite")},
            "serve": {"database": database, "secure_cookies": False},
        }
        config.write_text(json.dumps(settings, indent=2), encoding="utf-8")  # JSON is YAML
        names = [f"load-{i:02d}" for i in range(args.users)]
        began = time.perf_counter()
        options = ("--role", "officer", "--password-stdin", "--config", str(config))
        for name in names:
            harmrank("users", "add", name, *options, stdin=PASSWORD + "\n")
        print(f"Added {len(names)} officer accounts in {time.perf_counter() - began:.1f} s.")

        port, log = free_port(), temp / "serve.log"
        base = f"http://127.0.0.1:{port}"
        with log.open("w") as out:
            server = subprocess.Popen(
                [str(HARMRANK), "serve", "--config", str(config), "--port", str(port)],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        clients: list[httpx.Client] = []
        try:
            print(f"Service up in {wait_until_up(server, base, log):.1f} s on {base} (run {as_of}).")
            began = time.perf_counter()
            clients = [sign_in(base, name) for name in names]
            print(f"Signed in {len(clients)} officers in {time.perf_counter() - began:.1f} s.")
            cold = {}
            for kind, url in (
                ("list", f"/runs/{as_of}/"),
                ("person", f"/runs/{as_of}/people/{quote(people[0], safe='')}"),
            ):
                ms, status, text = timed(clients[0], url)
                if status != 200:
                    sys.exit(f"Cold {kind} page: {status} GET {url}:\n{text[:800]}")
                cold[kind] = ms
            print(f"Cold start (first request): list {cold['list']:.0f} ms, person {cold['person']:.0f} ms.")

            rounds = []
            for r in range(args.rounds):
                found = measure(clients, as_of, people, args.requests, offset=r * 7)
                rounds.append(found)
                figures = ", ".join(
                    f"{k} median {statistics.median(found.ms[k]):.0f} / p95 {p95(found.ms[k]):.0f} ms"
                    for k in KINDS
                )
                print(
                    f"Round {r + 1}: {figures}; {found.requests() / found.wall:.1f} requests/s "
                    f"over {found.wall:.1f} s; {len(found.failures)} failed"
                )
            peak = peak_rss_mb(server.pid)
        finally:
            for http in clients:
                http.close()
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()

    print(
        f"\n{args.users} officers x {args.requests} requests per page kind x {args.rounds} rounds; "
        f"median across rounds (ms):"
    )
    print(f"{'page':<8}{'requests':>10}{'median':>10}{'p95':>10}{'max':>10}")
    for kind in KINDS:
        per_round = [r.ms[kind] for r in rounds]
        print(
            f"{kind:<8}{sum(len(v) for v in per_round):>10}"
            f"{statistics.median(statistics.median(v) for v in per_round):>10.0f}"
            f"{statistics.median(p95(v) for v in per_round):>10.0f}"
            f"{statistics.median(max(v) for v in per_round):>10.0f}"
        )
    rate = statistics.median(r.requests() / r.wall for r in rounds)
    failures = [f for r in rounds for f in r.failures]
    print(f"requests/s (both kinds): {rate:.1f}")
    print(f"server peak RSS: {f'{peak:.0f} MB' if peak is not None else 'not available'}")
    print(f"CPUs: {os.cpu_count()}; database: {database.split(':', 1)[0].split('+', 1)[0]}")
    print(f"failed requests: {len(failures)} of {sum(r.requests() for r in rounds)}")
    for line in failures[:SHOWN]:
        print(f"  {line}")


if __name__ == "__main__":
    main()
