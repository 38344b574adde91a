"""harmrank features package."""
