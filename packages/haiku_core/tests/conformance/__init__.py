"""Conformance registry: every public haiku_core module through every transform."""
