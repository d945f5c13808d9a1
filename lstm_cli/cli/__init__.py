"""The command line: one thin file per command; no torch at import time."""
