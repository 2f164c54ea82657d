"""Hypothesis profiles for the property tests: `ci` (the default, small and reproducible) and
`fuzz` (many more examples, random, for a long run by hand or by scripts/fuzz.py).

Choose one with HYPOTHESIS_PROFILE=fuzz.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

#: Examples per property test in CI: the whole set stays well under a minute on a busy machine.
CI_EXAMPLES = 60

settings.register_profile(
    "ci",
    max_examples=CI_EXAMPLES,
    # The same examples every run (no flaky CI); no example database written in the checkout.
    derandomize=True,
    database=None,
    # Time bounds are asserted by the tests themselves (generously, the machine is shared).
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)
settings.register_profile(
    "fuzz",
    max_examples=20_000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
