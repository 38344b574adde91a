"""The heavy aggregation of the feature engine, as portable SQL run by DuckDB.

Every event is read once, whatever the number of as-of dates. Dates are whole days (integers) and
the as-of dates ``T_0 < ... < T_{n-1}`` are indexed ``j = 0 .. n-1``. For an event:

- ``f``, the first date index at which it is known: the number of as-of dates ``<= recorded_date``;
- it is inside a window of ``w`` days at date ``j`` while ``T_j <= occurred_date + w``, i.e. for
  ``j < k(occurred_date + w)`` where ``k(day)`` counts the as-of dates ``<= day`` (table ``day_index``).

Windows are nested, so at each date an event sits in exactly one *band*: the smallest window that
holds it (band ``b`` for window ``b``, the last band for all history). The queries emit a +1 when an
event enters its first band and -1/+1 pairs when it moves outward, and sum these per
(person, key, date index, band). Summing over date indices (cumulatively) gives band counts per as-of
date, summing over bands gives window counts: one as-of date is the case ``n = 1``, and a monthly panel
costs little more than one date. Distinct counts reuse the same bands: each (person, victim) or
(person, offence subgroup) pair becomes an "item" that is active from the date its latest occurrence
became known until a later occurrence replaces it. Everything summed is an integer (harm in quarter
CCHI days), so results are identical for any thread count.

Only standard SQL (joins, UNION ALL, GROUP BY, window functions, ``least``/``greatest``) is used,
and every statement is a plain SELECT, so the same statements run on DuckDB (:class:`DuckDBEngine`,
the default) and on Spark SQL (:class:`features.spark.SparkEngine`). What differs between engines
(how a table is registered or kept, how ``$name`` parameters are passed) is the :class:`SqlEngine`
interface; :func:`aggregate` runs the one sequence of statements on either.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import duckdb
import numpy as np
import pyarrow as pa

MEMBER = """
SELECT e.person_id, fx.k AS f, sx.k AS stop
FROM events AS e
JOIN day_index AS fx ON fx.day = least(greatest(e.rec, $lo), $hi)
JOIN day_index AS sx ON sx.day = least(greatest(e.occ + $lookback, $lo), $hi)
WHERE e.type IN (SELECT type FROM cohort_types) AND sx.k > fx.k
"""

PEOPLE = """
SELECT person_id, CAST(row_number() OVER (ORDER BY person_id) - 1 AS INTEGER) AS p
FROM (SELECT DISTINCT person_id FROM member) AS u
"""

COHORT = """
SELECT pe.p, m.j, CAST(sum(m.d) AS BIGINT) AS d
FROM (
    SELECT person_id, f AS j, 1 AS d FROM member
    UNION ALL
    SELECT person_id, stop AS j, -1 AS d FROM member WHERE stop < $n
) AS m
JOIN people AS pe ON pe.person_id = m.person_id
GROUP BY pe.p, m.j
"""

EV = """
SELECT pe.p, e.type, e.cat, e.subgroup, e.harm_q, e.occ, e.domestic, e.weapon, e.victim, fx.k AS f
FROM events AS e
JOIN people AS pe ON pe.person_id = e.person_id
JOIN day_index AS fx ON fx.day = least(greatest(e.rec, $lo), $hi)
WHERE fx.k < $n AND e.type IN (SELECT type FROM used_types)
"""

COMBOS = """
SELECT DISTINCT type, cat, harm_q, domestic, weapon FROM ev ORDER BY type, cat, harm_q, domestic, weapon
"""

ACTIVE = """
WITH items AS (
    SELECT p, $victim_key AS key, victim AS item, f, occ
    FROM ev WHERE type IN (SELECT type FROM item_types) AND victim IS NOT NULL
    UNION ALL
    SELECT p, $subgroup_key AS key, CAST(subgroup AS STRING) AS item, f, occ
    FROM ev WHERE type IN (SELECT type FROM item_types) AND subgroup >= 0
), firsts AS (
    SELECT p, key, item, f, max(occ) AS occ FROM items GROUP BY p, key, item, f
)
SELECT e.p, km.key, e.f, $n AS stop, e.occ, e.harm_q AS harm
FROM ev AS e
JOIN keymap AS km
  ON km.type = e.type AND km.cat = e.cat AND km.harm_q = e.harm_q
 AND km.domestic = e.domestic AND km.weapon = e.weapon
UNION ALL
SELECT p, key, f,
       coalesce(lead(f) OVER (PARTITION BY p, key, item ORDER BY f), $n) AS stop,
       max(occ) OVER (PARTITION BY p, key, item ORDER BY f ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
           AS occ,
       0 AS harm
FROM firsts
"""

BANDS = """
WITH entry AS (
    SELECT a.p, a.key, a.f AS j, ab.band, 1 AS n, a.harm
    FROM active AS a
    JOIN dates AS d ON d.j = a.f
    JOIN age_band AS ab ON ab.age = least(greatest(d.t - a.occ, 0), $cap)
), leave AS (
    SELECT a.p, a.key, a.stop AS j, ab.band, -1 AS n, -a.harm AS harm
    FROM active AS a
    JOIN dates AS d ON d.j = a.stop
    JOIN age_band AS ab ON ab.age = least(greatest(d.t - a.occ, 0), $cap)
    WHERE a.stop < $n
), crossings AS (
    -- when the item leaves window b; the bounds are a CASE, not join conditions, because as join
    -- conditions DuckDB planned a merge join on them followed by a cross product (20 times slower)
    SELECT a.p, a.key, x.b, a.harm,
           CASE WHEN ix.k > a.f AND ix.k <= a.stop AND ix.k < $n THEN ix.k END AS j
    FROM active AS a
    CROSS JOIN edges AS x
    JOIN day_index AS ix ON ix.day = least(greatest(a.occ + x.w, $lo), $hi)
    WHERE a.occ + $widest >= $movable
), moves AS (
    SELECT p, key, j, b, harm FROM crossings WHERE j IS NOT NULL
)
SELECT p, key, j, band, CAST(sum(n) AS BIGINT) AS n, CAST(sum(harm) AS BIGINT) AS harm
FROM (
    SELECT * FROM entry
    UNION ALL SELECT * FROM leave
    UNION ALL SELECT p, key, j, b AS band, -1 AS n, -harm AS harm FROM moves
    UNION ALL SELECT p, key, j, b + 1 AS band, 1 AS n, harm FROM moves
) AS deltas
GROUP BY p, key, j, band
HAVING sum(n) <> 0 OR sum(harm) <> 0
"""

LAST_FIRST = """
SELECT p, f AS j, max(occ) AS last, min(occ) AS first
FROM ev WHERE type IN (SELECT type FROM item_types)
GROUP BY p, f
"""

RECENCY = """
SELECT e.p, d.j, CAST(sum(CAST(e.harm_q AS BIGINT) * w.wq) AS BIGINT) AS wharm
FROM ev AS e
JOIN dates AS d ON d.j >= e.f
JOIN weights AS w ON w.age = least(greatest(d.t - e.occ, 0), $oldest)
WHERE e.type IN (SELECT type FROM item_types) AND e.harm_q > 0
GROUP BY e.p, d.j
"""


@dataclass(frozen=True)
class Aggregates:
    """What the SQL returns, as numpy arrays; person codes ``p`` index :attr:`people`.

    Attributes
    ----------
    people
        person_id of each person code, in person_id order (everyone in the cohort at some date).
    cohort
        p, j, d: change of the person's count of cohort-qualifying events at date index j.
    bands
        p, key, j, band, n, harm: change of the count and the summed harm_q per band.
    last_first
        p, j, last, first: latest and earliest occurred day of suspect events that became known at j.
    recency
        p, j, wharm: sum of harm_q times the recency weight at date j, for suspect events known at j.
    """

    people: pa.Array
    cohort: dict[str, np.ndarray]
    bands: dict[str, np.ndarray]
    last_first: dict[str, np.ndarray]
    recency: dict[str, np.ndarray]


def parameters(statement: str) -> set[str]:
    """The ``$name`` parameters a statement names."""
    return set(re.findall(r"\$(\w+)", statement))


class SqlEngine(Protocol):
    """Where the statements run: the default DuckDB or Spark SQL (:mod:`features.spark`)."""

    def register(self, name: str, table: pa.Table) -> None:
        """Make an Arrow table readable under ``name``."""

    def create(self, name: str, query: str, params: dict[str, int]) -> None:
        """Run ``query`` once and keep its result as table ``name`` for later statements."""

    def fetch(self, query: str, params: dict[str, int]) -> pa.Table:
        """Run ``query`` and return its whole result."""

    def close(self) -> None:
        """Drop every table registered or created."""


@functools.cache
def _database(threads: int) -> duckdb.DuckDBPyConnection:
    """One in-memory DuckDB database per thread count, kept for the process (opening one takes ~30 ms)."""
    return duckdb.connect(":memory:", config={"threads": threads, "preserve_insertion_order": False})


class DuckDBEngine:
    """The statements on an in-process DuckDB, in a connection of its own (its temp tables are private).

    Parameters
    ----------
    threads
        DuckDB threads; the results do not depend on it.
    """

    def __init__(self, threads: int) -> None:
        self.con = _database(threads).cursor()

    def _run(self, statement: str, params: dict[str, int]) -> duckdb.DuckDBPyRelation:
        return self.con.sql(statement, params={k: params[k] for k in parameters(statement)})

    def register(self, name: str, table: pa.Table) -> None:
        self.con.register(name, table)

    def create(self, name: str, query: str, params: dict[str, int]) -> None:
        self._run(f"CREATE TEMP TABLE {name} AS {query}", params)

    def fetch(self, query: str, params: dict[str, int]) -> pa.Table:
        return self._run(query, params).to_arrow_table()

    def close(self) -> None:
        self.con.close()


def _fetch(engine: SqlEngine, query: str, params: dict[str, int]) -> dict[str, np.ndarray]:
    table = engine.fetch(query, params)
    return {name: table.column(name).to_numpy() for name in table.column_names}


def aggregate(
    tables: dict[str, pa.Table],
    params: dict[str, int],
    keymap: Callable[[pa.Table], pa.Table],
    engine: SqlEngine,
) -> Aggregates:
    """Run the statements on ``tables`` with ``engine``, and close it.

    Parameters
    ----------
    tables
        ``events`` (person_id, type, cat, subgroup, harm_q, occ, rec, domestic, weapon, victim),
        ``dates``, ``day_index``, ``age_band``, ``edges``, ``weights``, ``cohort_types``,
        ``used_types``, ``item_types`` (see :mod:`features.build`).
    params
        n, lo, hi, lookback, cap, widest, movable, oldest, victim_key, subgroup_key.
    keymap
        Called with the distinct (type, cat, harm_q, domestic, weapon) combinations of the cohort's
        events; returns the ``keymap`` table (the same columns plus ``key``: one row per key a
        combination feeds).
    engine
        Where the statements run; every engine gives the same aggregates.
    """
    try:
        for name, table in tables.items():
            engine.register(name, table)
        engine.create("member", MEMBER, params)
        engine.create("people", PEOPLE, params)
        people = engine.fetch("SELECT person_id FROM people ORDER BY p", params).column(0)
        cohort = _fetch(engine, COHORT, params)
        engine.create("ev", EV, params)
        engine.register("keymap", keymap(engine.fetch(COMBOS, params)))
        engine.create("active", ACTIVE, params)
        bands = _fetch(engine, BANDS, params)
        last_first = _fetch(engine, LAST_FIRST, params)
        recency = _fetch(engine, RECENCY, params)
    finally:
        engine.close()
    return Aggregates(people.combine_chunks(), cohort, bands, last_first, recency)
