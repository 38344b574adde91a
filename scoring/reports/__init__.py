"""Every page harmrank writes: the officer list and person pages (:mod:`.officer`, :mod:`.person`),
the model report (:mod:`.model`, :mod:`.summary`), the equality report (:mod:`.equality`,
:mod:`.equality_sections`), the synthetic-world check (:mod:`.synthetic_check`) and the governance
pack (:mod:`.governance`: model card, ATRS record, DPIA and equality impact assessment inputs,
ALGO-CARE, as HTML, Markdown and Word).

One Jinja2 environment (:mod:`.env`), one page frame and stylesheet (templates/page.html,
templates/report.css), one set of number formats (:mod:`.formats`) and one chart module
(:mod:`.charts`). Pages read results; they compute no metric.
"""
