"""Integration tests that run against real registries started by the harness."""
