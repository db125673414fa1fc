import pytest


@pytest.fixture(scope="session")
def smollm2():
    """(LlamaForCausalLM, tokenizer) of SmolLM2-135M-Instruct, loaded once (~3 s)."""
    from modelbook.models import load_smollm2

    return load_smollm2()
