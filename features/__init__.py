"""From a force's records to a point-in-time feature matrix.

- :mod:`features.records`: the records contract (what the tables must hold, how bad rows are
  quarantined, the offence catalogue);
- :mod:`features.synthetic`: the synthetic world, a generated force with known ground truth;
- the feature engine: :mod:`~features.catalogue` (every feature declared once),
  :mod:`~features.sql` and :mod:`~features.assemble` (the DuckDB aggregation),
  :mod:`~features.build` (the matrix), :mod:`~features.labels` (the future outcome),
  :mod:`~features.reference` (a slow, obvious re-implementation the tests compare against);
- :mod:`features.errors`: the errors every package raises to the user.

The lowest layer: imports nothing from models, fairness or scoring, and never touches the file
system.
"""
