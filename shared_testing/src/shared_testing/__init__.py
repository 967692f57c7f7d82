"""Test utilities shared by haiku-core and rlax-core (never published)."""
