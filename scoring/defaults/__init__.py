"""harmrank's built-in settings, shipped inside the package so that an installed harmrank runs from any
directory: the run configuration (default.yaml), the synthetic world's (synthetic.yaml) and the offence
catalogue (offences.csv). In the checkout they are links to configs/, the one copy that is edited.
"""

from pathlib import Path

HERE = Path(__file__).parent
RUN_CONFIG = HERE / "default.yaml"
"""The run configuration (configs/default.yaml in the checkout)."""
SYNTHETIC_CONFIG = HERE / "synthetic.yaml"
"""The synthetic world's settings (configs/synthetic.yaml)."""
CATALOGUE = HERE / "offences.csv"
"""The offence catalogue: CCHI subgroup medians and national volumes (configs/offences.csv)."""
