"""Inline-SVG charts of every harmrank page, drawn with one set of primitives (:mod:`.base`).

- :mod:`.model`: the model report (lines over months, interval whiskers, reliability);
- :mod:`.officer`: the officer pages (waterfall of reasons, timeline of records, rank line);
- :mod:`.equality`: the equality report (ratios on a log axis, the mitigation scatter).
"""
