"""`python -m oras.cli`: the same as the `oras-py` command."""

import sys

from oras.cli.main import main

sys.exit(main())
