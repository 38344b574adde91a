"""The `harmrank` command line: synth, validate, run, promote, splits, backtest, review, status,
verify-log.

User errors (bad records, bad config, bad options) print one message and exit with
status 2; only bugs show a traceback. The commands live in :mod:`.records` (synth, validate),
:mod:`.monthly` (run, promote), :mod:`.matrix` (splits, backtest) and :mod:`.review` (review,
status, verify-log); :mod:`.app` assembles them.
"""

from scoring.cli.app import app, main

__all__ = ["app", "main"]
