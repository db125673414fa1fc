"""The security tests reuse the serving tests' server folder (a trained classifier, keys, tokens)."""
from tests.serving.conftest import served  # noqa: F401  (a fixture, imported to be visible here)
