"""A handwriting-like few-shot data set: CJK characters drawn with an installed font and distorted at random.

Omniglot does not ship in any installed package. The stand-in draws each character once with PIL from the
WQY Micro Hei font (Debian's fonts-wqy-microhei, installed by scripts/install.sh), then makes every example
of it by a random affine warp (rotation, shear, anisotropic scale, shift) and a random stroke width
(grey-level dilation or erosion), all vectorised with torch's affine_grid / grid_sample. A class is a
character; the characters are the first `n_chars` of GB2312 level 1 (the 3,755 most common Hanzi, a
fixed order), so the set is the same on every machine with the font, and the split into train and test
characters is by character (disjoint), drawn from the seed.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

FONT_PATHS = ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", "/usr/share/fonts/wqy-microhei/wqy-microhei.ttc")
GB2312_LEVEL1 = 3755


def font_path() -> Path:
    for p in FONT_PATHS:
        if Path(p).is_file():
            return Path(p)
    from modelbook.core.errors import ModelbookError

    raise ModelbookError("the glyph data set needs the WQY Micro Hei font: install the Debian package "
                         "fonts-wqy-microhei (scripts/install.sh does)")


def gb2312_level1(n: int) -> list[str]:
    """The first n characters of GB2312 level 1 (rows 0xB0–0xD7, 94 cells each, 0xD7FA–FE unassigned)."""
    if not 1 <= n <= GB2312_LEVEL1:
        raise ValueError(f"n_chars must be in 1..{GB2312_LEVEL1}, got {n}")
    out = []
    for hi in range(0xB0, 0xD8):
        for lo in range(0xA1, 0xFF):
            if hi == 0xD7 and lo > 0xF9:
                break
            out.append(bytes((hi, lo)).decode("gb2312"))
            if len(out) == n:
                return out
    return out


def render(chars: list[str], size: int = 28, supersample: int = 2) -> np.ndarray:
    """Each character drawn once, white on black, centred, as float32 in [0, 1]: (len(chars), size, size)."""
    from PIL import Image, ImageDraw, ImageFont

    big = size * supersample
    font = ImageFont.truetype(str(font_path()), int(big * 0.8))
    out = np.zeros((len(chars), size, size), np.float32)
    for i, ch in enumerate(chars):
        img = Image.new("L", (big, big), 0)
        ImageDraw.Draw(img).text((big / 2, big / 2), ch, fill=255, font=font, anchor="mm")
        out[i] = np.asarray(img.resize((size, size), Image.BILINEAR), np.float32) / 255.0
    return out


@dataclass(frozen=True)
class Distortion:
    rotate_deg: float = 12.0     # ± uniform
    shear: float = 0.2           # ± uniform, both axes
    scale: tuple[float, float] = (0.8, 1.1)
    shift: float = 0.1           # ± fraction of the image, both axes
    stroke: float = 0.5          # ± uniform: blend towards a thicker (3×3 max-pool) or thinner (min-pool) stroke


def distort(base, n_per_class: int, gen, d: Distortion = Distortion()):
    """(C, H, W) base images -> (C, n_per_class, H, W) random affine + stroke-width variants (torch, float32)."""
    import torch
    import torch.nn.functional as F

    base = torch.as_tensor(base)
    C, H, W = base.shape
    n = C * n_per_class
    u = lambda *shape: torch.rand(*shape, generator=gen)  # noqa: E731
    rot = (u(n) * 2 - 1) * np.deg2rad(d.rotate_deg)
    sh = (u(n, 2) * 2 - 1) * d.shear
    sc = d.scale[0] + u(n, 2) * (d.scale[1] - d.scale[0])
    tr = (u(n, 2) * 2 - 1) * d.shift * 2          # grid coordinates span [-1, 1]
    cos, sin = torch.cos(rot), torch.sin(rot)
    R = torch.stack([torch.stack([cos, -sin], -1), torch.stack([sin, cos], -1)], -2)
    S = torch.stack([torch.stack([torch.ones(n), sh[:, 0]], -1), torch.stack([sh[:, 1], torch.ones(n)], -1)], -2)
    A = R @ S / sc[:, None, :]                    # output grid -> input grid: shrink scale > 1 means larger glyph
    theta = torch.cat([A, tr[:, :, None]], -1)
    src = base.repeat_interleave(n_per_class, 0)[:, None]
    grid = F.affine_grid(theta, (n, 1, H, W), align_corners=False)
    out = F.grid_sample(src, grid, align_corners=False, padding_mode="zeros")
    w = ((u(n) * 2 - 1) * d.stroke)[:, None, None, None]
    thick, thin = F.max_pool2d(out, 3, 1, 1), -F.max_pool2d(-out, 3, 1, 1)
    out = out + w.clamp(min=0) * (thick - out) + (-w).clamp(min=0) * (thin - out)
    return out[:, 0].reshape(C, n_per_class, H, W).contiguous()


def build(n_chars: int, n_per_class: int, seed: int, size: int = 28, cache: bool = True):
    """(n_chars, n_per_class, size, size) float32 glyphs, deterministic per (n_chars, n_per_class, seed, size).

    The one-off drawings are cached under $MODELBOOK_HOME/cache/glyphs (the slow part, PIL); the distortions
    are recomputed from the seed (fast, vectorised)."""
    import torch

    chars = gb2312_level1(n_chars)
    base = None
    if cache:
        from modelbook.core.paths import atomic_path, cache_dir

        path = cache_dir("glyphs") / f"wqy_gb2312_{n_chars}_{size}px.npy"
        if path.is_file():
            base = np.load(path)
        else:
            base = render(chars, size)
            with atomic_path(path) as tmp:
                with open(tmp, "wb") as f:
                    np.save(f, base)
    else:
        base = render(chars, size)
    gen = torch.Generator().manual_seed(seed)
    return distort(base, n_per_class, gen), chars
