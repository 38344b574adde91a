"""harmrank models package."""
