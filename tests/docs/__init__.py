"""Documentation tests: the site builds without warnings and its code samples run."""
