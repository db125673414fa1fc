"""capture_io on a small randomly initialised Llama (no download): what it records is what the model computes."""
import torch

from modelbook.models.hooks import capture_io


def _tiny_llama():
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=50, hidden_size=32, intermediate_size=64, num_hidden_layers=3, num_attention_heads=4,
                         num_key_value_heads=2, max_position_embeddings=64)
    return LlamaForCausalLM(config).eval()


def test_layer_outputs_chain_into_the_next_layer_and_match_the_model_hidden_states():
    model = _tiny_llama()
    ids = torch.randint(0, 50, (1, 12), generator=torch.Generator().manual_seed(1))
    layers = model.model.layers
    with torch.no_grad():
        states = model(ids, output_hidden_states=True).hidden_states     # embeddings, then after each layer (last normed)
    hooks_before = [len(layer._forward_hooks) for layer in layers]        # transformers adds hooks of its own on a first call
    captured = capture_io(model, layers, ids)
    assert len(captured) == 3
    for i, (x, y) in enumerate(captured):
        assert torch.equal(x, states[i])                                  # the input is what the previous layer gave
        if i + 1 < len(captured):
            assert torch.equal(y, captured[i + 1][0])                     # each output feeds the next layer
    # attention sub-modules: recorded with their keyword hidden states; the hooks are gone afterwards
    attn = capture_io(model, [layer.self_attn for layer in layers], ids)
    assert all(a[0].shape == (1, 12, 32) and a[1].shape == (1, 12, 32) for a in attn)
    assert [len(layer._forward_hooks) for layer in layers] == hooks_before
