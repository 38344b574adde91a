"""harmrank fairness package."""
