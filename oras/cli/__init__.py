"""The `oras-py` command line: one module per command over the `oras` library."""
