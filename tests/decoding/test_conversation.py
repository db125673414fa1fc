"""Chat: the template, fitting the history to the context window, and reusing the cache across turns."""
import pytest
import torch

from modelbook.decoding import ChatSession, GenerationConfig, fit_to_window, render
from modelbook.nn.llama import LlamaLM


def test_render_is_chatml_with_the_assistant_turn_open(smollm2):
    _, tok = smollm2
    ids = render(tok, [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}])
    text = tok.decode(ids)
    assert text == "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"


def _history(n):
    out = []
    for i in range(n):
        out += [{"role": "user", "content": f"Question number {i} about topic {i}?"},
                {"role": "assistant", "content": f"Answer number {i}, which is fairly long " * 3}]
    return out


def test_oldest_turns_are_dropped_first_and_the_system_message_is_kept(smollm2):
    _, tok = smollm2
    history = _history(10)
    full = fit_to_window(tok, "You are terse.", history, "And now?", budget=10_000)
    assert full.dropped_turns == 0 and not full.notices
    fitted = fit_to_window(tok, "You are terse.", history, "And now?", budget=len(full.ids) // 2)
    assert len(fitted.ids) <= len(full.ids) // 2
    assert 0 < fitted.dropped_turns < 10
    text = tok.decode(fitted.ids)
    assert text.startswith("<|im_start|>system\nYou are terse.")
    assert "Question number 9" in text and "Question number 0" not in text and text.endswith("And now?<|im_end|>\n<|im_start|>assistant\n")
    assert "oldest" in fitted.notices[0]


def test_an_over_long_message_keeps_its_end_with_a_notice(smollm2):
    _, tok = smollm2
    message = "word " * 3000 + "What is the final question?"
    fitted = fit_to_window(tok, None, _history(2), message, budget=300)
    assert len(fitted.ids) <= 300
    assert fitted.message_tokens_cut > 2500 and fitted.dropped_turns == 2
    assert "What is the final question?" in tok.decode(fitted.ids)
    assert any("too long" in n for n in fitted.notices)


def _tiny_chat_model(vocab, seed=0):
    torch.manual_seed(seed)
    return LlamaLM(vocab, d=32, n_layers=2, n_heads=4, n_kv_heads=2, head_dim=8, d_ff=64, max_positions=512).eval()


def test_cache_reuse_across_turns_gives_the_same_replies_with_less_prefill(smollm2):
    _, tok = smollm2
    model = _tiny_chat_model(len(tok))
    gen = GenerationConfig(max_new_tokens=12)
    a = ChatSession(model, tok, system="Be brief.", gen=gen, context_window=400, reuse_cache=True)
    b = ChatSession(model, tok, system="Be brief.", gen=gen, context_window=400, reuse_cache=False)
    prefilled = {"reuse": [], "fresh": []}
    for message in ("Hello there", "Tell me more", "And a third thing"):
        ra, rb = a.reply(message), b.reply(message)
        assert ra.generation.tokens == rb.generation.tokens
        prefilled["reuse"].append(ra.prefilled_tokens)
        prefilled["fresh"].append(rb.prefilled_tokens)
    assert prefilled["reuse"][0] == prefilled["fresh"][0]
    assert all(r < f / 2 for r, f in zip(prefilled["reuse"][1:], prefilled["fresh"][1:]))
    assert len(a.history) == 6
    a.reset()
    assert a.history == [] and a.reply("Hello there").prefilled_tokens == prefilled["fresh"][0]


def test_history_is_truncated_when_the_window_fills(smollm2):
    _, tok = smollm2
    chat = ChatSession(_tiny_chat_model(len(tok)), tok, gen=GenerationConfig(max_new_tokens=16), context_window=160)
    notices = []
    for i in range(8):
        notices += chat.reply(f"message {i} " * 6).notices
    assert any("oldest" in n for n in notices)


def test_empty_message_and_impossible_budget_are_refused(smollm2):
    _, tok = smollm2
    chat = ChatSession(_tiny_chat_model(len(tok)), tok, gen=GenerationConfig(max_new_tokens=8), context_window=100)
    with pytest.raises(ValueError, match="empty"):
        chat.reply("   ")
    with pytest.raises(ValueError, match="room"):
        ChatSession(_tiny_chat_model(len(tok)), tok, gen=GenerationConfig(max_new_tokens=100), context_window=100)
