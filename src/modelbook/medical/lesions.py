"""A lesion-detection task with exact ground truth: synthetic lesions of known size and contrast inserted into a
real scan, a blob detector, and the FROC curve that scores it.

Insertion: a disc of diameter d (mm, converted with the scan's PixelSpacing) and contrast ΔHU added to the HU
image, with a soft edge 0.5·(1 − tanh((r − R)/w)) so the lesion has no aliasing staircase (the way hybrid
lesion-insertion studies blend a lesion into a patient image).

Detector: the scale-normalised Laplacian of Gaussian, −σ²·∇²G_σ * I, at σ = R/√2 for each radius R looked for
(Lindeberg 1998: a disc of radius R gives its strongest normalised response at that σ), each scale standardised
by its robust spread over the search mask, maximum over scales, then local maxima inside the mask. Each candidate
carries its standardised response as a score.

FROC (Chakraborty 1989): lower a threshold over the candidates' scores; at each threshold, lesion sensitivity is
the fraction of lesions with a candidate within their radius (+1 pixel) scoring above it, and the false-positive
rate is the number of other candidates above it per image. The curve is sensitivity vs mean FPs per image.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage


@dataclass(frozen=True)
class Lesion:
    row: float
    col: float
    radius_px: float
    diameter_mm: float
    contrast: float


def lesion_profile(shape: tuple[int, int], row: float, col: float, radius_px: float, edge_px: float = 0.5) -> np.ndarray:
    """A disc of radius `radius_px` at (row, col) with a tanh edge of width `edge_px`: values in [0, 1]."""
    rr, cc = np.indices(shape, dtype=np.float64)
    r = np.hypot(rr - row, cc - col)
    return 0.5 * (1.0 - np.tanh((r - radius_px) / edge_px))


def insert_lesions(image: np.ndarray, lesions: list[Lesion]) -> np.ndarray:
    """The image with each lesion's contrast × profile added (HU in, HU out)."""
    out = np.array(image, dtype=np.float64)
    for les in lesions:
        out += les.contrast * lesion_profile(out.shape, les.row, les.col, les.radius_px)
    return out


def place_lesions(mask: np.ndarray, sizes_mm, contrasts, n: int, spacing_mm: float, rng: np.random.Generator,
                  margin_px: float = 3.0) -> list[Lesion]:
    """`n` lesions at random non-overlapping centres inside `mask` (size and contrast drawn uniformly from the lists).
    A centre must sit inside the mask eroded by the lesion radius + margin, so the whole lesion lies in tissue."""
    dist = ndimage.distance_transform_edt(mask)
    lesions: list[Lesion] = []
    for _ in range(n):
        d = float(rng.choice(sizes_mm))
        c = float(rng.choice(contrasts))
        R = d / 2 / spacing_mm
        ok = dist > R + margin_px
        for les in lesions:  # keep lesions apart: no two closer than the sum of radii + 2 margins
            rr, cc = np.indices(mask.shape)
            ok &= np.hypot(rr - les.row, cc - les.col) > R + les.radius_px + 2 * margin_px
        where = np.argwhere(ok)
        if len(where) == 0:
            break
        r, col = where[rng.integers(len(where))]
        lesions.append(Lesion(float(r), float(col), R, d, c))
    return lesions


def log_response(image: np.ndarray, radius_px: float) -> np.ndarray:
    """−σ²·∇²(G_σ * I) with σ = R/√2: a bright disc of radius ≈ R gives a positive peak at its centre."""
    sigma = radius_px / np.sqrt(2)
    return -sigma**2 * ndimage.gaussian_laplace(np.asarray(image, dtype=np.float64), sigma)


def detection_map(image: np.ndarray, radii_px, mask: np.ndarray) -> np.ndarray:
    """max over radii of the LoG response in units of its own spread inside `mask` (1.4826 · MAD, a robust σ).

    The scale-normalised response of a disc is about the same at every size, but the background's response
    shrinks at larger scales (more averaging), so per-scale standardisation turns responses into signal-to-noise
    ratios: bigger lesions of the same contrast stand out more, as the Rose model says they should."""
    maps = []
    for r in radii_px:
        resp = log_response(image, r)
        inside = resp[mask]
        maps.append((resp - np.median(inside)) / (1.4826 * np.median(np.abs(inside - np.median(inside))) + 1e-12))
    return np.max(maps, axis=0)


def detect(image: np.ndarray, radii_px, mask: np.ndarray, min_distance: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Candidates ((k, 2) row/col, (k,) scores): local maxima of the detection map in a (2·min_distance + 1)
    window, positive, inside `mask`, sorted by score (highest first)."""
    resp = detection_map(image, radii_px, mask)
    peaks = (resp == ndimage.maximum_filter(resp, size=2 * min_distance + 1)) & (resp > 0) & mask
    pos = np.argwhere(peaks)
    scores = resp[peaks]
    order = np.argsort(-scores, kind="stable")
    return pos[order], scores[order]


def match(candidates: np.ndarray, lesions: list[Lesion], tolerance_px: float = 1.0) -> np.ndarray:
    """(k,) index of the lesion each candidate hits, or −1: a candidate hits the nearest lesion whose centre is
    within its radius + tolerance."""
    hit = np.full(len(candidates), -1)
    if len(lesions) and len(candidates):
        centres = np.array([[les.row, les.col] for les in lesions])
        radii = np.array([les.radius_px for les in lesions])
        d = np.hypot(candidates[:, None, 0] - centres[None, :, 0], candidates[:, None, 1] - centres[None, :, 1])
        near = d <= radii[None, :] + tolerance_px
        best = np.where(near, d, np.inf).argmin(1)
        hit = np.where(near.any(1), best, -1)
    return hit


@dataclass
class FROC:
    thresholds: np.ndarray     # descending candidate scores
    sensitivity: np.ndarray    # fraction of lesions found at each threshold
    fp_per_image: np.ndarray   # false positives per image at each threshold

    def sensitivity_at(self, fp_rate: float) -> float:
        """Highest sensitivity reached with at most `fp_rate` false positives per image."""
        ok = self.fp_per_image <= fp_rate
        return float(self.sensitivity[ok].max()) if ok.any() else 0.0


def lesion_best_scores(candidates: np.ndarray, scores: np.ndarray, lesions: list[Lesion]) -> tuple[np.ndarray, np.ndarray]:
    """(best score of a candidate hitting each lesion, −inf if none; scores of the false-positive candidates)."""
    hit = match(candidates, lesions)
    best = np.full(len(lesions), -np.inf)
    for h, s in zip(hit, scores):
        if h >= 0:
            best[h] = max(best[h], s)
    return best, scores[hit < 0]


def froc(lesion_scores: np.ndarray, fp_scores: np.ndarray, n_images: int) -> FROC:
    """The FROC curve from every lesion's best hit score (−inf = missed at any threshold) and every FP score."""
    lesion_scores = np.asarray(lesion_scores, dtype=float)
    fp_scores = np.asarray(fp_scores, dtype=float)
    t = np.unique(np.concatenate([lesion_scores[np.isfinite(lesion_scores)], fp_scores]))[::-1]
    sens = (lesion_scores[None, :] >= t[:, None]).mean(1) if len(lesion_scores) else np.zeros(len(t))
    fps = (fp_scores[None, :] >= t[:, None]).sum(1) / n_images
    return FROC(t, sens, fps)


def lesion_threshold_at(fp_scores: np.ndarray, n_images: int, fp_rate: float) -> float:
    """The lowest score threshold with at most `fp_rate` false positives per image (operating point of the FROC)."""
    s = np.sort(np.asarray(fp_scores, dtype=float))[::-1]
    k = int(np.floor(fp_rate * n_images))          # we may keep k false positives
    return float(s[k]) + 1e-12 if k < len(s) else -np.inf


def simulate_case(base_hu: np.ndarray, view: int, spacing_mm: float, sizes_mm, contrasts_hu, per_image: int,
                  noise_hu: float, window: tuple[float, float], rng: np.random.Generator):
    """One reader study image: the base slice turned to one of its 8 orientations (`view`), lesions placed in soft
    tissue (−150..200 HU) and inserted, Gaussian noise added, the detector run on the windowed image (in HU units)
    inside soft tissue away from bone and air edges. Returns (image, lesions, candidates, each lesion's best score,
    false-positive scores)."""
    from modelbook.medical import imaging

    img = np.rot90(base_hu, view % 4)
    img = img.T if (view // 4) % 2 else img
    soft = ndimage.binary_opening((img > -150) & (img < 200), iterations=2)
    les = place_lesions(soft, sizes_mm, contrasts_hu, per_image, spacing_mm, rng)
    case = insert_lesions(img, les) + rng.normal(0.0, noise_hu, img.shape)
    windowed = imaging.window(case, *window, 0.0, 1.0) * window[1]
    search = ndimage.binary_erosion(soft, iterations=3)
    cand, scores = detect(windowed, [d / 2 / spacing_mm for d in sizes_mm], search)
    best, fps = lesion_best_scores(cand, scores, les)
    return case, les, cand, best, fps
