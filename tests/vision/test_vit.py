"""Our pre-LN encoder block = torch's nn.TransformerEncoderLayer(norm_first=True) with the same weights; the ViT's
token layout (class token + patches)."""
import torch
from torch import nn

from modelbook.vision.vit import EncoderBlock, ViT


def test_encoder_block_equals_torch_transformer_encoder_layer():
    torch.manual_seed(0)
    ref = nn.TransformerEncoderLayer(32, 4, dim_feedforward=64, dropout=0.0, activation="gelu", batch_first=True, norm_first=True).eval()
    ours = EncoderBlock(32, 4, mlp_ratio=2).load_from_torch(ref)
    x = torch.randn(3, 17, 32)
    torch.testing.assert_close(ours(x), ref(x), rtol=1e-5, atol=1e-5)


def test_vit_patches_and_class_token():
    vit = ViT(image_size=28, patch=7, d_model=16, depth=1, n_heads=2)
    assert vit.pos.shape == (1, 16 + 1, 16)                  # (28/7)² patches + the class token
    assert vit(torch.rand(5, 1, 28, 28)).shape == (5, 10)
