"""The monthly job and everything at its edges: reading records, the pipeline, writing the run
directory, the review log, MLflow tracking, every page (:mod:`scoring.reports`) and the command
line (:mod:`scoring.cli`). The top layer: it may import features, models and fairness; nothing
below imports it."""
