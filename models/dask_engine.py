"""Training the ranker with LightGBM's Dask interface, for a region whose panel outgrows one machine.

``model.engine: dask`` fits the same LightGBM parameters with :class:`lightgbm.DaskLGBMClassifier`
(``binary``) or :class:`lightgbm.DaskLGBMRanker` (``lambdarank``) on a Dask cluster: the force's own
scheduler by address, or a :class:`distributed.LocalCluster` on this machine. The rows are split into
one chunk per worker (whole query groups for lambdarank) and LightGBM trains data-parallel, each worker
building histograms of its rows. The result is an ordinary booster: scoring, SHAP, the scoring unit
and the registry do not know which engine trained it.

Histograms built on two chunks bin and sum in a different order from one, so the trees are not
identical to the local engine's; ``tests/models/test_dask_training.py`` holds the list to within the
tolerance stated in docs/scale-out.md. Early stopping is not available in LightGBM's Dask interface;
every round is trained with the validation months evaluated, and the best iteration is chosen by the
local engine's own rule (the best log-loss not improved on for ``early_stopping_rounds``).

dask and distributed are an optional extra (``pip install harmrank[dask]``), imported only here.
"""

from __future__ import annotations

import atexit
import functools
import itertools
import logging
import os
import warnings
from typing import TYPE_CHECKING, Any, cast

import lightgbm as lgb
import numpy as np
from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from distributed import Client


class DaskSettings(BaseModel):
    """Where LightGBM's Dask training runs (``model.dask``; read only when ``model.engine`` is dask)."""

    model_config = ConfigDict(extra="forbid")

    scheduler: str | None = Field(
        None,
        description="Address of the force's Dask scheduler (tcp://host:8786); unset: a LocalCluster "
        "on this machine with the workers below.",
    )
    workers: int = Field(
        2, ge=1, description="LocalCluster: worker processes (the rows are split into as many chunks)."
    )
    threads_per_worker: int = Field(1, ge=1, description="LocalCluster: threads per worker.")
    memory_limit: str = Field("auto", description="LocalCluster: memory limit per worker (e.g. 4GiB).")


def _import() -> tuple[Any, Any]:
    try:
        import dask.array
        import distributed
    except ImportError as exc:  # pragma: no cover - the extra is installed for make test
        raise RuntimeError(
            "model.engine is dask but dask is not installed: pip install 'harmrank[dask]'"
        ) from exc
    return dask.array, distributed


class _Quiet:
    """LightGBM's logger on the workers and here: its info lines (ports, ranks) are dropped."""

    def info(self, message: str) -> None:
        del message

    def warning(self, message: str) -> None:
        # the scikit-learn wrapper always passes n_jobs; the Dask interface uses the workers' threads
        if "n_jobs will be ignored" not in message:
            logging.getLogger("lightgbm").warning(message.strip())


def _quiet_lightgbm() -> None:
    lgb.register_logger(_Quiet())


def _no_stdout() -> None:
    """A LocalCluster worker's stdout to /dev/null: LightGBM's network code prints its ports there."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)


@functools.cache
def _client(scheduler: str | None, workers: int, threads: int, memory: str) -> Client:
    _, distributed = _import()
    # the scheduler, nanny and client log their starts and stops at INFO into the run's console
    logging.getLogger("distributed").setLevel(logging.WARNING)
    if scheduler:
        dask_client = distributed.Client(scheduler)
        dask_client.run(_quiet_lightgbm)
        return dask_client
    # worker processes read Dask's config from the environment when they start: warnings and errors only
    os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "warning")
    with warnings.catch_warnings():
        # the scheduler's health and metrics server moves to a free port when 8787 is taken, and says so
        warnings.filterwarnings("ignore", message="Port .* is already in use")
        cluster = distributed.LocalCluster(
            n_workers=workers,
            threads_per_worker=threads,
            memory_limit=memory,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
    dask_client = distributed.Client(cluster)
    dask_client.run(_quiet_lightgbm)
    dask_client.run(_no_stdout)
    # at exit the client goes first, releasing its data, then the workers: no "lost data" errors
    atexit.register(cluster.close)
    atexit.register(dask_client.close)
    return dask_client


def client(settings: DaskSettings) -> Client:
    """The Dask client for ``settings``, connected (or its LocalCluster started) once per process."""
    return _client(settings.scheduler, settings.workers, settings.threads_per_worker, settings.memory_limit)


class _InOrder:
    """A Dask client whose ``who_has`` lists the parts in the order asked (chunk order).

    LightGBM's Dask interface ranks its machines in the order ``who_has`` returns the parts, and
    each machine finds the bins of some features from its own rows, so the ranks must follow the
    chunks. The scheduler returns them in an order that changes from process to process (measured:
    two different lambdarank boosters in three runs); every other call goes to the client as is.
    """

    def __init__(self, client: Client) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def who_has(self, futures: list[Any], **kwargs: Any) -> dict[str, Any]:
        found = self._client.who_has(futures, **kwargs)
        return {future.key: found[future.key] for future in futures}


def _chunks(n_rows: int, parts: int, sizes: np.ndarray | None) -> tuple[list[int], list[int]]:
    """Rows per chunk and query groups per chunk, for about ``parts`` chunks of equal rows.

    With query groups (``sizes``) a chunk ends only where a group ends: a group is never split.
    """
    targets = n_rows * np.arange(1, parts) // parts
    if sizes is None:
        row_edges = np.unique(np.concatenate([[0], targets, [n_rows]]))
        return np.diff(row_edges).tolist(), []
    ends = np.cumsum(sizes)
    edges = np.unique(
        np.concatenate([[0], np.searchsorted(ends, targets) + 1, [len(sizes)]]).clip(0, len(sizes))
    )
    row_edges = np.concatenate([[0], ends])[edges]
    return np.diff(row_edges).tolist(), np.diff(edges).tolist()


def _array(dask_client: Client, values: np.ndarray, rows: list[int], workers: list[str]) -> Any:
    """``values`` as a Dask array of ``rows`` chunks, chunk ``k`` held by ``workers[k]``.

    Each chunk is sent to the cluster once (not inside the task graph). Pinning chunk ``k`` to the
    ``k``-th worker fixes which rows each LightGBM machine holds and its rank (the order of the first
    chunks), so the same rows and cluster give the same booster run after run.
    """
    import dask

    da, _ = _import()
    edges = np.cumsum([0, *rows])
    parts = [values[a:b] for a, b in itertools.pairwise(edges)]
    futures = [
        dask_client.scatter(part, workers=[workers[k % len(workers)]], hash=False)
        for k, part in enumerate(parts)
    ]
    return da.concatenate(
        [
            da.from_delayed(dask.delayed(future), shape=part.shape, dtype=part.dtype)
            for future, part in zip(futures, parts, strict=True)
        ]
    )


def best_iteration(losses: list[float], patience: int) -> int:
    """The round the local engine's early stopping keeps: the best loss not beaten within ``patience``.

    Rounds count from 1. With ``patience`` 0 every round is kept.
    """
    if patience <= 0 or not losses:
        return len(losses)
    best, best_at = np.inf, 0
    for i, loss in enumerate(losses):
        if loss < best:
            best, best_at = loss, i
        elif i - best_at >= patience:
            break
    return best_at + 1


def train(
    params: dict[str, Any],
    rounds: int,
    X: np.ndarray,
    label: np.ndarray,
    feature_names: list[str],
    settings: DaskSettings,
    *,
    group_sizes: np.ndarray | None = None,
    weight: np.ndarray | None = None,
    valid: tuple[np.ndarray, np.ndarray] | None = None,
    patience: int = 0,
) -> lgb.Booster:
    """A booster trained with LightGBM's Dask interface, ``best_iteration`` set as the local engine would.

    Parameters
    ----------
    params
        The local engine's LightGBM parameters (objective, seed, constraints...).
    rounds
        Boosting rounds.
    X, label
        Training rows (float64) and labels, in query-group order for lambdarank.
    group_sizes
        lambdarank: rows per query group, in order.
    weight
        Row weights (binary with subsampled negatives), or None.
    valid
        ``(X, y)`` of the validation months (binary): evaluated every round for the best iteration.
    patience
        Rounds without improvement after which the local engine would have stopped.
    """
    import lightgbm.dask as lgb_dask  # imports dask; only this engine needs it

    dask_client = client(settings)
    _quiet_lightgbm()
    workers = sorted(dask_client.scheduler_info(n_workers=-1)["workers"])
    rows, groups = _chunks(len(X), len(workers), group_sizes)
    # each worker uses its own threads: LightGBM ignores num_threads on Dask (and warns)
    keyword = {k: v for k, v in params.items() if k not in ("objective", "metric", "eval_at", "num_threads")}
    fit: dict[str, Any] = {"feature_name": feature_names}
    if weight is not None:
        fit["sample_weight"] = _array(dask_client, weight, rows, workers)
    if params["objective"] == "lambdarank":
        model = lgb_dask.DaskLGBMRanker(
            client=cast("Client", _InOrder(dask_client)),
            objective="lambdarank",
            n_estimators=rounds,
            **keyword,
        )
        fit["group"] = _array(dask_client, np.asarray(group_sizes, dtype=np.int64), groups, workers)
        fit["eval_at"] = params.get("eval_at", [100])
    else:
        model = lgb_dask.DaskLGBMClassifier(
            client=cast("Client", _InOrder(dask_client)), objective="binary", n_estimators=rounds, **keyword
        )
        if valid is not None:
            vx, vy = valid
            vrows, _ = _chunks(len(vx), len(workers), None)
            fit["eval_X"] = (_array(dask_client, vx, vrows, workers),)
            fit["eval_y"] = (_array(dask_client, vy, vrows, workers),)
            fit["eval_metric"] = "binary_logloss"
    model.fit(_array(dask_client, X, rows, workers), _array(dask_client, label, rows, workers), **fit)
    booster: lgb.Booster = model.booster_
    if "eval_X" in fit:
        losses = next(iter(model.evals_result_.values()))["binary_logloss"]
        booster.best_iteration = best_iteration(list(losses), patience)
    return booster
