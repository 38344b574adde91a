"""harmrank scoring package."""
