"""The run configuration, validated once at the entry point into typed objects.

Each stage declares its own settings next to its code; this module composes them
and turns any YAML or validation problem into a :class:`ConfigError` that names the
file, the key and what would be valid.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_serializer,
    field_validator,
    model_validator,
)

from fairness.proxy_settings import MitigationSettings, ProxySettings
from fairness.settings import FairnessSettings
from features.build import FeatureSettings
from features.errors import ConfigError
from features.labels import LabelSettings
from features.records.death_tables import DEATH_TABLES
from features.records.schema import TABLES, ValidationSettings
from models.deaths.settings import DeathSettings
from models.registry import TrackingSettings
from models.settings import BacktestSettings
from models.train import ModelSettings, TrainingSettings
from scoring.db import display_url, is_url
from scoring.defaults import CATALOGUE
from scoring.review_log import display, location

if TYPE_CHECKING:
    from pydantic_core import ErrorDetails

M = TypeVar("M", bound=BaseModel)


CONTRACT = {**TABLES, **DEATH_TABLES}
"""Every table a force's database may hold: the list job's and the deaths job's."""


class OutputSettings(BaseModel):
    """What the monthly job writes."""

    model_config = ConfigDict(extra="forbid")

    k: int = Field(100, gt=0, description="Length of the list.")
    score_decimals: int = Field(
        6, ge=1, le=12, description="Scores are rounded to this many decimals before ranking and writing."
    )
    marking: str = Field(
        "OFFICIAL-SENSITIVE",
        min_length=1,
        max_length=80,
        pattern=r"^[^\x00-\x1f\x7f]*\S[^\x00-\x1f\x7f]*$",
        description="Protective marking of the officer report: shown at the top of every page, and "
        "at the top and bottom of every printed page (one line, no control characters).",
    )
    rank_intervals: int = Field(
        0,
        ge=0,
        description="Person-bootstrap resamples for the listed people's 95% rank intervals (rank_lo, "
        "rank_hi; 0: off). Each refits the model once (13-37 s on the demo world), so off by default.",
    )


class ScoringSettings(BaseModel):
    """Which model scores the list, by what, and where reviews are recorded."""

    model_config = ConfigDict(extra="forbid")

    retrain: bool = Field(
        False,
        description="Train a new model every run. False: score with the registry's champion when "
        "one exists (and train only when none does).",
    )
    rank_by: Literal["probability", "expected_harm"] = Field(
        "probability",
        description="Ranking score: calibrated probability of the outcome, or expected harm "
        "(probability x expected CCHI days given the outcome).",
    )
    review_log: Path | str = Field(
        Path("data/reviews.sqlite"),
        description="Append-only log of officers' review decisions: a SQLite file, or the database URL "
        "of a force's PostgreSQL service database (its reviews table).",
    )

    @field_validator("review_log", mode="before")
    @classmethod
    def _log_location(cls, value: object) -> Path | str:
        return value if isinstance(value, Path) else location(value)

    @field_serializer("review_log")
    def _hide_password(self, value: Path | str) -> str:  # a manifest never holds a database password
        return display(value)


class OidcSettings(BaseModel):
    """Sign-in through the force's identity provider (OpenID Connect), beside local accounts."""

    model_config = ConfigDict(extra="forbid")

    issuer: str = Field(..., description="The provider's issuer URL (its /.well-known/openid-configuration).")
    client_id: str = Field(..., description="harmrank's client id at the provider.")
    client_secret_env: str = Field(
        "HARMRANK_OIDC_SECRET", description="Environment variable holding the client secret (never the file)."
    )
    redirect_url: str | None = Field(
        None, description="The callback URL the provider was given (default: <service>/auth/callback)."
    )
    scopes: str = Field("openid profile email", description="Scopes asked for.")
    name_claim: str = Field("preferred_username", description="Claim that names the person (their account).")
    role_claim: str = Field("roles", description="Claim listing the person's groups or roles.")
    role_map: dict[str, str] = Field(
        default_factory=dict,
        description="Claim value -> harmrank role (officer, supervisor, equality-reviewer, analyst, admin); "
        "the first key of the map that the person holds decides, and nobody without one may sign in.",
    )
    label: str = Field("Sign in with the force account", description="The sign-in button's words.")


class ServeSettings(BaseModel):
    """The review service (`harmrank serve`): its database, sessions, sign-in and s62 justifications."""

    model_config = ConfigDict(extra="forbid")

    database: str = Field(
        "sqlite:///data/service.sqlite",
        description="SQLAlchemy URL of the service database (accounts, sessions, access and security "
        "logs); PostgreSQL: postgresql+psycopg://user@host/db.",
    )
    host: str = Field("127.0.0.1", description="Address to listen on (put a TLS reverse proxy in front).")
    port: int = Field(8080, ge=1, le=65535, description="Port to listen on.")
    idle_minutes: int = Field(30, ge=1, description="A session ends after this long without a request.")
    session_hours: int = Field(12, ge=1, description="A session ends this long after sign-in, in any case.")
    lockout_attempts: int = Field(5, ge=1, description="Failed sign-ins in a row that lock an account.")
    lockout_minutes: int = Field(15, ge=1, description="How long a locked account stays locked.")
    secure_cookies: bool = Field(
        True, description="Mark cookies Secure (sent over HTTPS only; browsers allow localhost)."
    )
    justifications: list[str] = Field(
        default_factory=lambda: [
            "monthly list review",
            "death investigations review",
            "briefing before deployment",
            "supervisor check",
            "data protection or disclosure request",
        ],
        min_length=1,
        description="Reasons a user may give for consulting personal data (DPA 2018 s62); "
        "they may also write their own.",
    )
    oidc: OidcSettings | None = Field(None, description="Force sign-in (OpenID Connect); off when absent.")

    @field_serializer("database")
    def _hide_password(self, value: str) -> str:  # a manifest never holds a database password
        return display_url(value)


class SourceSettings(BaseModel):
    """Where a force's tables and columns are when ``--data`` is a database URL (not a directory)."""

    model_config = ConfigDict(extra="forbid")

    tables: dict[str, str] = Field(
        default_factory=dict,
        description="harmrank table (persons, events, offences, protected) -> the force's table or view, "
        "optionally schema-qualified (crime.offenders_v); a table not given is looked for under its own "
        "name.",
    )
    columns: dict[str, dict[str, str]] = Field(
        default_factory=dict,
        description="Per harmrank table, harmrank column -> the force's column; a column not given is "
        "looked for under its own name (case-insensitively). protected may also rename characteristics.",
    )
    chunk_rows: int = Field(
        100_000, ge=1, description="Rows fetched from the database at a time (bounds the memory of reading)."
    )

    @field_validator("tables")
    @classmethod
    def _known_tables(cls, value: dict[str, str]) -> dict[str, str]:
        for name, where in value.items():
            if name not in CONTRACT:
                raise ValueError(f"unknown table {name!r}; harmrank's tables are {', '.join(CONTRACT)}")
            if not where.strip():
                raise ValueError(f"the {name} table is mapped to an empty name; give the force's table")
        return value

    @field_validator("columns")
    @classmethod
    def _known_columns(cls, value: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        for name, mapping in value.items():
            if name not in CONTRACT:
                raise ValueError(f"unknown table {name!r}; harmrank's tables are {', '.join(CONTRACT)}")
            table = CONTRACT[name]
            declared = [c.name for c in table.columns]
            for column, where in mapping.items():
                if column not in declared and not table.extra_columns:
                    listed = ", ".join(declared)
                    raise ValueError(
                        f"unknown column {name}.{column!r}; the {name} table's columns are {listed}"
                    )
                if not where.strip():
                    raise ValueError(f"{name}.{column} is mapped to an empty name; give the force's column")
        return value


class RunConfig(BaseModel):
    """Everything the monthly job needs besides the records and the as-of date."""

    model_config = ConfigDict(extra="forbid")

    seed: int = Field(20261101, description="Seed for every random choice in the job.")
    root: Path | None = Field(
        None,
        description="Directory that the relative paths of this file are taken from (data_dir, runs_dir, "
        "offences, scoring.review_log, tracking, serve.database), itself relative to the file; "
        "configs/default.yaml says .., the directory above configs/. Unset: the file's own directory. "
        "harmrank writes it resolved (an absolute path) in a run's config.json.",
    )
    data_dir: Path = Field(Path("data/world"), description="Records directory used when --data is not given.")
    runs_dir: Path = Field(Path("runs"), description="Where runs/<DATE>/ directories are written.")
    offences: Path = Field(
        CATALOGUE,
        description="Offence catalogue used when the records have no offences table (default: harmrank's "
        "own, CCHI subgroup medians: configs/offences.csv in the checkout).",
    )
    source: SourceSettings = SourceSettings()
    validation: ValidationSettings = ValidationSettings()
    features: FeatureSettings = FeatureSettings()
    label: LabelSettings = LabelSettings()
    training: TrainingSettings = TrainingSettings()
    model: ModelSettings = ModelSettings()
    backtest: BacktestSettings = BacktestSettings()
    output: OutputSettings = OutputSettings()
    scoring: ScoringSettings = ScoringSettings()
    tracking: TrackingSettings = TrackingSettings()
    fairness: FairnessSettings = FairnessSettings()
    proxies: ProxySettings = ProxySettings()
    mitigation: MitigationSettings = MitigationSettings()
    serve: ServeSettings = ServeSettings()
    deaths: DeathSettings = DeathSettings()

    @model_validator(mode="after")
    def _list_length_is_evaluated(self) -> RunConfig:
        """The backtest reports every figure at the published list length too (any output.k)."""
        ks = self.backtest.evaluation.ks
        if self.output.k not in ks:
            evaluation = self.backtest.evaluation.model_copy(update={"ks": sorted({*ks, self.output.k})})
            self.backtest = self.backtest.model_copy(update={"evaluation": evaluation})
        return self

    def under(self, root: Path) -> RunConfig:
        """This config with every relative path and relative SQLite URL taken from ``root`` (made
        absolute), and ``root`` set to it: what a command uses, wherever it is run from."""
        root = Path(os.path.abspath(root))

        def path(value: Path) -> Path:
            value = value.expanduser()
            return value if value.is_absolute() else Path(os.path.normpath(root / value))

        def database(value: str) -> str:  # a URL, or the path of a SQLite file (scoring.db.url_of)
            return sqlite_under(root, value) if is_url(value) else str(path(Path(value)))

        log = self.scoring.review_log
        log = path(log) if isinstance(log, Path) else sqlite_under(root, log)
        return self.model_copy(
            update={
                "root": root,
                "data_dir": path(self.data_dir),
                "runs_dir": path(self.runs_dir),
                "offences": path(self.offences),
                "scoring": self.scoring.model_copy(update={"review_log": log}),
                "tracking": self.tracking.model_copy(
                    update={
                        "uri": sqlite_under(root, self.tracking.uri),
                        "artifact_dir": path(self.tracking.artifact_dir),
                    }
                ),
                "serve": self.serve.model_copy(update={"database": database(self.serve.database)}),
            }
        )


def sqlite_under(root: Path, url: str) -> str:
    """``url`` with a relative SQLite file (``sqlite:///data/x.db``) taken from ``root``; any other URL,
    an absolute file (``sqlite:////srv/x.db``) and an in-memory database as they are."""
    prefix = "sqlite:///"
    if not url.startswith(prefix):
        return url
    file, mark, query = url.removeprefix(prefix).partition("?")
    if not file or file == ":memory:" or Path(file).is_absolute():
        return url
    return f"{prefix}{os.path.normpath(root / file)}{mark}{query}"


def _valid_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Field names of the (nested) section of ``model`` at ``loc``."""
    current: type[BaseModel] = model
    for part in loc:
        field = current.model_fields.get(str(part))
        annotation = getattr(field, "annotation", None)
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            break
        current = annotation
    return sorted(current.model_fields)


def _describe(error: ErrorDetails, model: type[BaseModel], path: Path) -> str:
    loc = tuple(error["loc"])
    key = ".".join(str(p) for p in loc)
    if error["type"] == "extra_forbidden":
        valid = ", ".join(_valid_keys(model, loc[:-1]))
        return f"unknown key '{key}' in {path}; valid keys here are: {valid}"
    return f"bad value for '{key}' in {path}: {error['msg']} (got {error.get('input')!r})"


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a key that appears twice in one mapping (YAML keeps the last
    silently, so a setting written twice would be half-ignored)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"the key {key!r} appears twice (lines {seen[key]} and {key_node.start_mark.line + 1}); "
                    "keep one",
                    key_node.start_mark,
                )
            seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


def load_model(path: Path, model: type[M]) -> M:
    """Read a YAML file into ``model``; every problem becomes a :class:`ConfigError`."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(
            f"config file {path} does not exist; pass an existing YAML file (harmrank init DIR writes one)"
        )
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(
            f"config file {path} must hold a mapping of keys to values, not {type(data).__name__}"
        )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        lines = [_describe(e, model, path) for e in exc.errors()]
        raise ConfigError("\n".join(lines)) from None


def load_config(path: Path, root: Path | None = None) -> RunConfig:
    """The monthly job's configuration from ``path``, its relative paths taken from ``root`` when
    given, else from the file's ``root`` key (relative to the file), else from the file's directory."""
    config = load_model(path, RunConfig)
    if root is None:
        root = Path(path).parent / (config.root or Path("."))
    return config.under(root)
