"""Repository tooling imported by ``noxfile.py`` and the docs build (never published)."""
