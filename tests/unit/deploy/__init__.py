"""The production deployment files (deploy/, docs/operations.md), checked by structure, one module per
artefact; the shared parsing is in `files.py`."""
