"""Packaging tests: built distributions, installs into fresh venvs, the container image."""
