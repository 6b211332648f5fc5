"""Unit tests: pure, milliseconds."""
