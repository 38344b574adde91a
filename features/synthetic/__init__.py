"""The synthetic world: a generated force's records with known ground truth.

- :mod:`features.synthetic.settings`: :class:`~features.synthetic.settings.SyntheticConfig`;
- :mod:`features.synthetic.world`: :func:`~features.synthetic.world.generate_world` and the
  oracle (:func:`~features.synthetic.world.oracle_risk`), built from
  :mod:`~features.synthetic.population`, :mod:`~features.synthetic.events`,
  :mod:`~features.synthetic.crimes` and :mod:`~features.synthetic.frames`;
- :mod:`features.synthetic.summary`: realism figures of a world.

Imports run one way: settings <- population <- events <- crimes <- frames <- world <- summary.
"""
