"""Death investigations: the pattern of death reports, space-time clustering, linked pairs and series."""
