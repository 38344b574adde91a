"""The offence catalogue: the default built from CCHI subgroup medians, and other layouts.

The engine reads one layout (the ``offences`` table of :data:`features.records.schema.TABLES`):
offence_code, description, subgroup, category, harm_days, national_count. A force may
instead supply the full Cambridge Crime Harm Index table, one row per Home Office offence
code ("NNN/NN"); :func:`normalise_catalogue` turns either into our layout. Pure functions:
the caller reads the files.
"""

from __future__ import annotations

import logging
import re

import pandas as pd

from features.errors import RecordsError
from features.records.schema import TABLES

log = logging.getLogger(__name__)

CATALOGUE_COLUMNS: tuple[str, ...] = tuple(c.name for c in TABLES["offences"].columns)
"""Columns of the catalogue layout, in order."""

UNCLASSIFIED = "Unclassified"
"""Category and subgroup of offences from a per-code table that has no such columns."""

SUBGROUP_CODES: dict[str, str] = {
    "Homicide": "VSO01",
    "Violence with injury": "VSO02",
    "Violence without injury": "VSO03",
    "Stalking and harassment": "VSO04",
    "Death or serious injury - unlawful driving": "VSO05",
    "Rape offences": "VSO06",
    "Other sexual offences": "VSO07",
    "Public order offences": "PUB01",
    "Criminal damage": "CDA01",
    "Arson": "CDA02",
    "Shoplifting": "SHP01",
    "Other theft offences": "THF01",
    "Vehicle offences": "VEH01",
    "Residential burglary": "BUR01",
    "Non-residential burglary": "BUR02",
    "Possession of drugs": "DRG01",
    "Trafficking of drugs": "DRG02",
    "Theft from the person": "TFP01",
    "Robbery of business property": "ROB01",
    "Robbery of personal property": "ROB02",
    "Possession of weapons offences": "WEA01",
    "Bicycle theft": "BIC01",
    "Miscellaneous crimes against society": "OTH01",
}
"""Our offence code for each Home Office PRC offence subgroup of the default catalogue."""

REFERENCE_COLUMNS: tuple[str, ...] = (
    "category",
    "prc_subgroup",
    "cchi_days",
    "national_count_2024_25",
)
"""Columns of the reference table ``cchi_subgroups.csv``."""

# Header spellings of a per-Home-Office-code CCHI table, compared without case, spaces or
# punctuation ("HO code", "HO_CODE" and "ho-code" are all "hocode").
_PER_CODE = {
    "offence_code": ("hocode", "hooffencecode", "homeofficecode", "homeofficeoffencecode"),
    "description": (
        "fulloffencetitle",
        "offencetitle",
        "offencedescription",
        "offencename",
        "title",
        "description",
    ),
    "harm_days": ("cchiscore", "cchidays", "cchi", "cchiscoredays", "cchiharmdays"),
    "category": ("offencegroup", "offencecategory", "category", "headlinecategory"),
    "subgroup": ("offencesubgroup", "subgroup", "prcsubgroup"),
    "national_count": ("nationalcount",),
}
_HO_CODE = r"\d{3}/\d{2}"


def _squash(name: object) -> str:
    return re.sub(r"[^0-9a-z]", "", str(name).replace("\ufeff", "").lower())


def build_default_catalogue(reference: pd.DataFrame) -> pd.DataFrame:
    """The default offence catalogue from the CCHI subgroup reference table.

    Parameters
    ----------
    reference : pandas.DataFrame
        ``cchi_subgroups.csv``: category, prc_subgroup, cchi_days (CCHI days, the median
        over the subgroup's offence codes), national_count_2024_25.

    Returns
    -------
    pandas.DataFrame
        The catalogue layout, one row per subgroup in reference order; offence_code from
        :data:`SUBGROUP_CODES`, description = subgroup, harm_days as float64,
        national_count as int64.

    Raises
    ------
    RecordsError
        A reference column is missing, or a subgroup has no code in :data:`SUBGROUP_CODES`.
    """
    absent = [c for c in REFERENCE_COLUMNS if c not in reference.columns]
    if absent:
        raise RecordsError(
            f"The CCHI reference table lacks column(s) {', '.join(absent)}; "
            f"expected {', '.join(REFERENCE_COLUMNS)}."
        )
    subgroup = reference["prc_subgroup"].astype("str").str.strip()
    unknown = sorted(set(subgroup) - set(SUBGROUP_CODES))
    if unknown:
        raise RecordsError(
            f"The CCHI reference table has subgroup(s) without an offence code: "
            f"{', '.join(map(repr, unknown))}. Add them to features.records.offences.SUBGROUP_CODES."
        )
    return pd.DataFrame(
        {
            "offence_code": subgroup.map(SUBGROUP_CODES).astype("str"),
            "description": subgroup,
            "subgroup": subgroup,
            "category": reference["category"].astype("str").str.strip(),
            "harm_days": pd.to_numeric(reference["cchi_days"]).astype("float64"),
            "national_count": pd.to_numeric(reference["national_count_2024_25"]).astype("int64"),
        }
    ).reset_index(drop=True)


def _find(names: dict[str, object], spellings: tuple[str, ...]) -> object | None:
    """The first column of ``names`` (squashed -> original) spelled one of ``spellings``."""
    return next((names[s] for s in spellings if s in names), None)


def normalise_catalogue(raw: pd.DataFrame, source: str, warnings: list[str] | None = None) -> pd.DataFrame:
    """An offence catalogue in our layout, from our layout or a per-Home-Office-code table.

    Headers are matched without regard to case, spaces or punctuation. Rows are neither
    dropped nor reordered, so validation's row numbers still point into the file; values
    are not checked here (:func:`features.records.validate.validate` quarantines bad rows).

    Parameters
    ----------
    raw : pandas.DataFrame
        One of: our layout (offence_code, harm_days, ...); the CCHI reference table
        (category, prc_subgroup, cchi_days, national_count_2024_25); or a per-code CCHI
        table with a Home Office code column (``HO_CODE``, ``HO code``), an offence title
        (``FULL_OFFENCE_TITLE``, ``Offence title``), a weight (``CCHI Score``,
        ``cchi_days``), optionally ``Offence Group`` and ``Offence Subgroup``.
    source : str
        Where the table came from, for messages.
    warnings : list of str, optional
        Warnings for the analyst are appended here (and logged).

    Returns
    -------
    pandas.DataFrame
        Columns of our layout that the input has (national_count may be absent), with the
        input's values; a per-code table's offence_code is its Home Office code.

    Raises
    ------
    RecordsError
        The table is in neither layout.
    """
    names = {_squash(c): c for c in raw.columns}
    ours = {_squash(c): c for c in CATALOGUE_COLUMNS}
    if "offencecode" in names and "harmdays" in names:
        renamed = {names[s]: c for s, c in ours.items() if s in names}
        return raw.rename(columns=renamed)
    if {"prcsubgroup", "cchidays"} <= names.keys():
        spelled = {_squash(c): c for c in REFERENCE_COLUMNS}
        return build_default_catalogue(
            raw.rename(columns={names[s]: c for s, c in spelled.items() if s in names})
        )
    found = {col: _find(names, spellings) for col, spellings in _PER_CODE.items()}
    if found["offence_code"] is None or found["harm_days"] is None:
        raise RecordsError(
            f"{source}: not a recognised offence catalogue. Columns found: "
            f"{', '.join(map(str, raw.columns))}. Expected either {', '.join(CATALOGUE_COLUMNS)} "
            "(national_count optional), or a per-Home-Office-code CCHI table with columns "
            "HO_CODE (or 'HO code'), FULL_OFFENCE_TITLE (or 'Offence title') and 'CCHI Score' "
            "(or cchi_days), optionally 'Offence Group' and 'Offence Subgroup'."
        )
    notes: list[str] = []
    out = pd.DataFrame(index=raw.index)
    for col in CATALOGUE_COLUMNS:
        if found[col] is not None:
            out[col] = raw[found[col]]
        elif col == "description":
            out[col] = raw[found["offence_code"]]
            notes.append(f"{source}: no offence title column; descriptions are the HO codes.")
        elif col in ("category", "subgroup"):
            out[col] = UNCLASSIFIED
    lacking = [c for c in ("category", "subgroup") if found[c] is None]
    if lacking:
        notes.append(
            f"{source}: no {' or '.join(lacking)} column (such as 'Offence Group', "
            f"'Offence Subgroup'); {' and '.join(lacking)} set to '{UNCLASSIFIED}', so features "
            "by offence category treat these offences as one group."
        )
    codes = out["offence_code"].astype("str").str.strip()
    odd = codes[(codes != "") & ~codes.str.fullmatch(_HO_CODE).fillna(False)]
    if len(odd):
        notes.append(
            f"{source}: {len(odd):,} offence code(s) do not look like Home Office codes NNN/NN "
            f"(e.g. {odd.iloc[0]!r}); events must spell their offence_code the same way."
        )
    for note in notes:
        log.warning(note)
    if warnings is not None:
        warnings.extend(notes)
    return out
