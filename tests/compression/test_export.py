"""The explicit-cache decode step reproduces SmolLM2's logits, prefill and step by step."""
import pytest
import torch

from modelbook.compression.export import LlamaDecodeStep


@pytest.fixture(scope="module")
def smollm2():
    from modelbook.models import load_smollm2

    return load_smollm2()


def test_decode_step_matches_hugging_face(smollm2):
    model, tok = smollm2
    ids = tok("The quality of mercy is not strained; it droppeth as the gentle rain", return_tensors="pt")["input_ids"]
    step = LlamaDecodeStep(model).eval()
    with torch.no_grad():
        ref = model(ids).logits
        k, v = step.empty_cache()
        prefill, k, v = step(ids[:, :-3], k, v)
        outs = [prefill]
        for t in range(ids.shape[1] - 3, ids.shape[1]):  # the last three tokens one at a time, with the cache
            logits, k, v = step(ids[:, t:t + 1], k, v)
            outs.append(logits)
    got = torch.cat(outs, dim=1)
    assert k.shape == (30, 1, 3, ids.shape[1], 64)
    torch.testing.assert_close(got, ref, rtol=1e-4, atol=2e-4)
