import pytest


@pytest.fixture(scope="session")
def ask_index():
    """The handbook's search index, built once per test session in the test home (ONNX export + embedding)."""
    from modelbook.handbook.ask import load_index

    index, _ = load_index()
    return index
