"""The equality audit (Equality Act 2010 s149), computation only: protected groups, group metrics
with bootstrap intervals and corrected tests, the release gate, the proxy audit, label bias and
the mitigation trade-off. Returns frames and dataclasses and renders nothing (the equality report
is :mod:`scoring.reports.equality`). Imports only from :mod:`models` and :mod:`features`."""
