"""Hash chains: what makes harmrank's logs (review, access, security) tamper-evident.

Each entry stores the SHA-256 of its own content together with the previous entry's hash, and
entries are numbered 1, 2, 3, ... without a gap. :func:`chain_problems` recomputes a chain and
names the first entry that was edited, deleted, inserted or moved; :class:`LogCheck` is what a
check found. The storage (a SQLite file, a database table) lives in :mod:`scoring.review_log` and
:mod:`scoring.db.ledger`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

GENESIS = "0" * 64
"""The previous hash of the first entry."""


def digest(number: int, values: Iterable[object], prev_hash: str) -> str:
    """SHA-256 (hex) of one entry: its number, its values (as text, in order) and the previous hash."""
    text = json.dumps([int(number), *map(str, values), prev_hash], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class LogCheck:
    """What a check of one log found.

    ``ok`` is true when every entry is intact and in chain; ``entries`` counts them; ``head`` is
    the last entry's hash (:data:`GENESIS` for an empty log); ``problems`` say what is wrong,
    first problem first; ``first_bad`` is the number of the first entry that fails (None when
    the fault is not in one entry, such as a missing guard); ``label`` names the log.
    """

    path: str
    ok: bool
    entries: int
    head: str
    problems: tuple[str, ...] = ()
    first_bad: int | None = None
    label: str = "review log"

    def summary(self, where: bool = True) -> str:
        """One line on the check; ``where`` adds the log's place (a page for officers leaves it out)."""
        place = f" ({self.path})" if where else ""
        if self.ok:
            return (
                f"{self.label.capitalize()} intact: {self.entries:,} entries, hash chain and guards "
                f"checked{place}"
            )
        return f"{self.label.upper()} TAMPERED WITH: {self.problems[0]}{place}"

    def head_record(self) -> dict[str, object]:
        """The log's head for a run manifest: entries, last hash, and whether the check passed."""
        return {"entries": self.entries, "hash": self.head, "intact": self.ok}


def chain_problems(rows: Sequence[Sequence[object]]) -> tuple[list[str], int | None, str]:
    """Walk ``rows`` (number, *values, prev_hash, entry_hash; in number order) along the chain.

    Returns the problems (at most one: later entries cannot be judged once the chain is broken),
    the number of the first bad entry (None when intact) and the last good hash.
    """
    problems: list[str] = []
    first_bad: int | None = None
    prev = GENESIS
    for expected, row in enumerate(rows, start=1):
        number, *values, prev_hash, stored = row
        number = int(number)  # type: ignore[call-overload]
        why = None
        if number != expected:
            why = (
                f"entry {expected} is missing (the next entry is {number}): entries were deleted"
                if number > expected
                else f"entry {number} appears out of order"
            )
        elif prev_hash != prev:
            why = (
                f"entry {number} does not follow entry {number - 1}: an entry was inserted, deleted or moved"
            )
        elif digest(number, values, str(prev_hash)) != stored:
            why = f"entry {number} was edited: its content no longer matches its hash"
        if why:
            problems.append(why)
            first_bad = min(number, expected)
            break
        prev = str(stored)
    return problems, first_bad, prev
