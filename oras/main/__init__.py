"""oras-py's historical `oras.main` package."""
