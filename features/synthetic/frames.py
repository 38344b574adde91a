"""Record and truth tables of the synthetic world, built from the generator's arrays.

Identifier strings are built as Arrow string arrays straight from byte matrices, so tens of
millions of rows cost seconds and about 20 bytes a value.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa

from features.synthetic.crimes import Crimes
from features.synthetic.events import EVENT_TYPES, REF_KINDS, Parts, Simulation
from features.synthetic.population import (
    ETHNICITIES,
    RELIGIONS,
    SEXES,
    Population,
    Profile,
    Span,
)

if TYPE_CHECKING:
    from features.synthetic.settings import SyntheticConfig

NS_PER_DAY = 86_400_000_000_000
NOT_RECORDED = "not recorded"
UNKNOWN_CODE = "ZZZ99"
DEFECTS = ("recorded_before_occurred", "unknown_offence_code", "unknown_person_id", "missing_occurred_date")
DEFECT_COLUMNS = ("recorded_date", "offence_code", "person_id", "occurred_date")


def _digits(values: np.ndarray, width: int) -> np.ndarray:
    """Zero-padded decimal digits of non-negative integers as an (n, width) uint8 matrix."""
    x = values.astype(np.int64)
    out = np.empty((x.size, width), np.uint8)
    for j in range(width - 1, -1, -1):
        out[:, j] = 48 + x % 10
        x //= 10
    return out


def _width(max_value: int, minimum: int) -> int:
    return max(minimum, len(str(max(int(max_value), 0))))


def _strings(mat: np.ndarray, keep: np.ndarray | None = None, valid: np.ndarray | None = None) -> pd.Series:
    """A pandas ``str`` Series from the bytes of each row of ``mat`` where ``keep`` is True
    (all bytes if None); missing where ``valid`` is False."""
    n, w = mat.shape
    if keep is None and valid is None:
        data, lens = mat.reshape(-1), np.full(n, w, np.int64)
    else:
        keep = np.ones((n, w), bool) if keep is None else keep
        if valid is not None:
            keep = keep & valid[:, None]
        data, lens = mat[keep], keep.sum(axis=1, dtype=np.int64)
    offsets = np.zeros(n + 1, np.int64)
    np.cumsum(lens, out=offsets[1:])
    validity = None if valid is None else pa.py_buffer(np.packbits(valid, bitorder="little"))
    arr = pa.Array.from_buffers(
        pa.large_string(), n, [validity, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(data))]
    )
    return pd.Series(pd.array(arr.cast(pa.string()), dtype="str"))


def ids(prefix: str, numbers: np.ndarray, width: int, valid: np.ndarray | None = None) -> pd.Series:
    """Identifiers like ``P0000001`` (prefix + zero-padded number)."""
    head = np.frombuffer(prefix.encode(), np.uint8)
    mat = np.hstack([np.broadcast_to(head, (numbers.size, head.size)), _digits(numbers, width)])
    return _strings(mat, None, valid)


def _take(labels: list[str] | tuple[str, ...], index: np.ndarray) -> pd.Series:
    """Strings ``labels[index]`` (missing where index < 0) as a pandas ``str`` Series."""
    arr = pa.array(list(labels), pa.string()).take(pa.array(index.astype(np.int32), mask=index < 0))
    return pd.Series(pd.array(arr, dtype="str"))


def _dates(days: np.ndarray, missing: np.ndarray | None = None) -> np.ndarray:
    """datetime64[ns] at midnight from day numbers (NaT where ``missing``)."""
    ns = days.astype(np.int64) * NS_PER_DAY
    if missing is not None:
        ns[missing] = np.iinfo(np.int64).min
    return ns.view("M8[ns]")


def _year(days: np.ndarray) -> np.ndarray:
    return days.astype("M8[D]").astype("M8[Y]").astype(np.int64) + 1970


def _group_rank(key: np.ndarray) -> np.ndarray:
    """1-based position of each row among the rows with the same key, in row order."""
    order = np.argsort(key, kind="stable")
    sk = key[order]
    start = np.r_[0, np.flatnonzero(sk[1:] != sk[:-1]) + 1]
    sizes = np.diff(np.r_[start, sk.size])
    rank = np.empty(key.size, np.int64)
    rank[order] = np.arange(key.size) - np.repeat(start, sizes) + 1
    return rank


def assemble_events(
    config: SyntheticConfig,
    pop: Population,
    profile: Profile,
    parts: Parts,
    crimes: Crimes,
    span: Span,
    rng: np.random.Generator,
) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """The events table sorted by recorded date, the broken rows, and each crime's suspect row.

    Returns
    -------
    events, bad_rows (event_id, defect, column), and an int64 array over crimes giving the row
    of the crime's crime_suspect event in ``events`` (-1 if none).
    """
    c = parts.concat()
    keep = np.flatnonzero(c["rec"] <= span.end)
    order = np.lexsort((keep, c["person"][keep], c["type"][keep], c["occ"][keep], c["rec"][keep]))
    c = {k: v[keep[order]] for k, v in c.items()}
    n = c["type"].size
    # crime references are shared by the crime's suspect, victim and witness rows
    rep = np.flatnonzero(crimes.reported & (crimes.report_day <= span.end))
    rep = rep[np.argsort(crimes.report_day[rep], kind="stable")]
    crime_year = np.zeros(crimes.k.size, np.int64)
    crime_seq = np.zeros(crimes.k.size, np.int64)
    crime_year[rep] = _year(crimes.report_day[rep])
    crime_seq[rep] = _group_rank(crime_year[rep])
    is_crime = c["ref"] == REF_KINDS.index("CRIME")
    year = np.where(is_crime, crime_year[c["crime"]], _year(c["rec"]))
    seq = np.where(is_crime, crime_seq[c["crime"]], _group_rank(c["ref"].astype(np.int64) * 10_000 + year))
    suspect_row = np.full(crimes.k.size, -1, np.int64)
    sus = np.flatnonzero(c["type"] == EVENT_TYPES.index("crime_suspect"))
    suspect_row[c["crime"][sus]] = sus
    bad_idx, defect = _break_rows(config, c, span, rng)
    pw = _width(pop.n + bad_idx.size, 7)
    heads = np.zeros((len(REF_KINDS), 5), np.uint8)
    for i, kind in enumerate(REF_KINDS):
        heads[i, : len(kind)] = np.frombuffer(kind.encode(), np.uint8)
    slash = np.full((n, 1), ord("/"), np.uint8)
    tail = np.hstack([slash, _digits(year, 4), slash, _digits(seq, _width(seq.max(initial=0), 7))])
    ref_len = np.array([len(k) for k in REF_KINDS])[c["ref"]]
    keep_ref = np.hstack([np.arange(5)[None, :] < ref_len[:, None], np.ones(tail.shape, bool)])
    source_ref = _strings(np.hstack([heads[c["ref"]], tail]), keep_ref)
    del tail, keep_ref
    k = np.where(c["k"] == -2, len(profile.codes), c["k"]).astype(np.int32)
    event_id = ids("E", np.arange(1, n + 1), _width(n, 9))
    events = pd.DataFrame(
        {
            "event_id": event_id,
            "person_id": ids("P", c["person"].astype(np.int64) + 1, pw),
            "event_type": _take(EVENT_TYPES, c["type"].astype(np.int32)),
            "offence_code": _take([*profile.codes, UNKNOWN_CODE], k),
            "occurred_date": _dates(c["occ"], c["occ"] < 0),
            "recorded_date": _dates(c["rec"]),
            "victim_id": ids("P", c["victim"].astype(np.int64) + 1, pw, c["victim"] >= 0),
            "domestic": c["domestic"],
            "weapon": c["weapon"],
            "source_ref": source_ref,
        }
    )
    bad = pd.DataFrame(
        {
            "event_id": event_id.iloc[bad_idx].reset_index(drop=True),
            "defect": _take(DEFECTS, defect),
            "column": _take(DEFECT_COLUMNS, defect),
        }
    )
    return events, bad, suspect_row


def _break_rows(
    config: SyntheticConfig, c: dict[str, np.ndarray], span: Span, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Break a share of rows in place (in the int arrays ``c``), the defects in turn.

    Returns
    -------
    The broken rows (sorted) and the index of each one's defect in ``DEFECTS``.
    """
    n = c["type"].size
    n_bad = round(config.bad_row_share * n)
    if config.bad_row_share > 0:
        n_bad = min(max(n_bad, len(DEFECTS)), n // 4)
    if n_bad == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    pool = rng.choice(n, size=min(4 * n_bad, n), replace=False)
    wanted = np.bincount(np.arange(n_bad) % len(DEFECTS), minlength=len(DEFECTS))
    fits = [c["occ"][pool] > span.start, c["k"][pool] >= 0, np.ones(pool.size, bool)]
    fits.append(fits[-1])
    taken = np.zeros(pool.size, bool)
    rows, defect = [], []
    for d, fit in enumerate(fits):
        pick = np.flatnonzero(fit & ~taken)[: wanted[d]]
        taken[pick] = True
        rows.append(pool[pick])
        defect.append(np.full(pick.size, d))
    rows_all, defect_all = np.concatenate(rows), np.concatenate(defect)
    r0, r1, r2, r3 = rows
    c["rec"][r0] = np.maximum(c["occ"][r0] - rng.integers(1, 31, r0.size), span.start)
    c["k"][r1] = -2
    c["person"][r2] = np.arange(r2.size, dtype=np.int32) + np.int32(config.persons)
    c["occ"][r3] = -1
    order = np.argsort(rows_all, kind="stable")
    return rows_all[order], defect_all[order]


def _person_ids(pop: Population) -> pd.Series:
    return ids("P", np.arange(1, pop.n + 1), _width(pop.n, 7))


def persons_frame(pop: Population) -> pd.DataFrame:
    """Records: person_id and birth_date (NaT where not recorded)."""
    return pd.DataFrame({"person_id": _person_ids(pop), "birth_date": _dates(pop.birth, pop.birth_missing)})


def _recorded(labels: tuple[str, ...], index: np.ndarray, recorded: np.ndarray) -> pd.Series:
    return _take([*labels, NOT_RECORDED], np.where(recorded, index, len(labels)))


def protected_frame(pop: Population) -> pd.DataFrame:
    """Records: the protected characteristics as recorded ("not recorded" where missing)."""
    rec = pop.recorded
    return pd.DataFrame(
        {
            "person_id": _person_ids(pop),
            "sex": _recorded(SEXES, np.where(pop.male, 0, 1), rec["sex"]),
            "ethnicity": _recorded(ETHNICITIES, pop.ethnicity, rec["ethnicity"]),
            "religion": _recorded(RELIGIONS, pop.religion, rec["religion"]),
            "disability": _recorded(("Yes", "No"), np.where(pop.disabled, 0, 1), rec["disability"]),
        }
    )


def truth_persons_frame(pop: Population) -> pd.DataFrame:
    """Truth: latent class, true characteristics and latent traits of every person.

    ``base_log_rate`` is the log of true offences per month at the peak age before drift and
    ``seriousness`` the seriousness latent (both NaN outside the offender class);
    ``recording_multiplier`` multiplies the named-suspect and stop probabilities (recording bias).
    """
    return pd.DataFrame(
        {
            "person_id": _person_ids(pop),
            "latent_class": _take(("non_offender", "offender"), pop.offender.astype(np.int32)),
            "sex": _take(SEXES, np.where(pop.male, 0, 1)),
            "ethnicity": _take(ETHNICITIES, pop.ethnicity.astype(np.int32)),
            "religion": _take(RELIGIONS, pop.religion.astype(np.int32)),
            "base_log_rate": pop.base_log,
            "seriousness": pop.seriousness,
            "domestic_abuser": pop.abuser,
            "partner_id": ids("P", pop.partner.astype(np.int64) + 1, _width(pop.n, 7), pop.partner >= 0),
            "recording_multiplier": pop.multiplier,
            "victim_weight": pop.victim_weight.astype(np.float32),
        }
    )


def truth_monthly_frame(pop: Population, sim: Simulation, span: Span) -> pd.DataFrame:
    """Truth: per offender and calendar month, the expected true offences (``rate``), expected
    offences of 365+ CCHI days (``serious_rate``) and the seriousness latent (float32).

    Rates are for the whole calendar month; a month only partly inside the extract was simulated
    for its share of days."""
    n_m, n_o = sim.rate.shape
    cats = ids("P", sim.off.astype(np.int64) + 1, _width(pop.n, 7))
    codes = np.repeat(np.arange(n_o, dtype=np.int32), n_m)
    return pd.DataFrame(
        {
            "person_id": pd.Categorical.from_codes(codes, categories=pd.Index(cats)),
            "month": _dates(np.tile(span.month_start, n_o)),
            "rate": sim.rate.T.ravel(),
            "serious_rate": sim.serious.T.ravel(),
            "seriousness": sim.seriousness.T.ravel(),
        }
    )


def truth_offences_frame(
    pop: Population,
    profile: Profile,
    crimes: Crimes,
    span: Span,
    events: pd.DataFrame,
    suspect_row: np.ndarray,
) -> pd.DataFrame:
    """Truth: every true offence of the world's offenders, whether it was reported, whether it
    named the offender as suspect (``recorded``, ``recorded_date``) and the crime_suspect
    event_id if that event is in the extract."""
    nt = crimes.n_true
    named = crimes.named[:nt]
    row = suspect_row[:nt]
    eid = events["event_id"].to_numpy()[np.maximum(row, 0)] if len(events) else np.full(nt, None)
    w = _width(pop.n, 7)
    return pd.DataFrame(
        {
            "person_id": ids("P", crimes.offender[:nt].astype(np.int64) + 1, w),
            "offence_code": _take(tuple(profile.codes), crimes.k[:nt].astype(np.int32)),
            "occurred_date": _dates(crimes.occ[:nt]),
            "reported": crimes.reported[:nt],
            "recorded": named,
            "recorded_date": _dates(crimes.name_day[:nt], ~named),
            "domestic": crimes.domestic[:nt],
            "victim_id": ids("P", crimes.victim[:nt].astype(np.int64) + 1, w, crimes.victim[:nt] >= 0),
            # np.asarray(None) is the 0-d object array np.where makes of a None fill itself
            "event_id": pd.Series(pd.array(np.where(row >= 0, eid, np.asarray(None)), dtype="str")),
        }
    )


def offence_params_frame(profile: Profile, logw: np.ndarray) -> pd.DataFrame:
    """Truth: the offence-type model and recording probabilities per offence code."""
    tab = profile.table
    return pd.DataFrame(
        {
            "offence_code": pd.Series(profile.codes, dtype="str"),
            "harm_days": profile.harm,
            "national_share": profile.target,
            "mix_log_weight": logw,
            "harm_score": profile.z.astype(np.float64),
            "report_prob": tab["report"].to_numpy(np.float64),
            "named_prob": tab["named"].to_numpy(np.float64),
            "victim_prob": tab["victim"].to_numpy(np.float64),
            "delay_class": pd.Series(tab["delay"].to_numpy(), dtype="str"),
        }
    )


def params_frame(config: SyntheticConfig) -> pd.DataFrame:
    """Truth: the config as (name, value) text pairs, plus the span's first day."""
    values = config.model_dump(mode="json") | {"start_date": config.start_date.isoformat()}
    return pd.DataFrame(
        {
            "name": pd.Series(list(values), dtype="str"),
            "value": pd.Series([str(v) for v in values.values()], dtype="str"),
        }
    )
