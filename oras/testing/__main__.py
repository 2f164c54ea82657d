"""`python -m oras.testing`: serve a test registry until SIGINT or SIGTERM (see oras.cli.testing_registry)."""

import sys

from oras.cli.testing_registry import main

sys.exit(main())
