"""A DICOM / NIfTI pipeline from scratch: stored values → Hounsfield units → window; voxel → patient coordinates;
orientation codes; resampling to a new voxel grid by trilinear interpolation.

DICOM (PS3.3 C.11.1, C.11.2, C.7.6.2):
  - modality LUT:  HU = stored · RescaleSlope + RescaleIntercept   (CT: water 0, air −1000)
  - VOI window (linear, C.11.2.1.2.1) with centre c and width w, output range [y_min, y_max]:
        x ≤ c − 0.5 − (w − 1)/2  → y_min;   x > c − 0.5 + (w − 1)/2  → y_max;
        else y = ((x − (c − 0.5)) / (w − 1) + 0.5) · (y_max − y_min) + y_min
  - position of pixel (row r, column c): P = S + X·Δc·c + Y·Δr·r, S = ImagePositionPatient, X and Y the row and
    column direction cosines (ImageOrientationPatient), Δr, Δc = PixelSpacing (row spacing first). Coordinates are
    LPS (x to the patient's left, y posterior, z superior).
NIfTI: the sform/qform affine maps voxel (i, j, k) to RAS+ millimetres. The axis code of array axis a is the world
axis its column of the affine points along most (largest |entry|), with the sign picking R/L, A/P, S/I.

Cross-checks (tests/medical/test_imaging.py and the lab): pydicom's apply_modality_lut / apply_windowing,
nibabel's DICOM wrapper affine, nibabel.aff2axcodes, apply_affine, header zooms, and scipy.ndimage /
nibabel.processing resampling on the same inputs.
"""
from __future__ import annotations

import numpy as np


# -- DICOM ----------------------------------------------------------------------------------------------------
def to_hounsfield(stored: np.ndarray, slope: float, intercept: float) -> np.ndarray:
    """The modality LUT: stored pixel values → Hounsfield units (float64)."""
    return np.asarray(stored, dtype=np.float64) * float(slope) + float(intercept)


def window(x: np.ndarray, center: float, width: float, y_min: float = 0.0, y_max: float = 1.0) -> np.ndarray:
    """DICOM's linear VOI window (PS3.3 C.11.2.1.2.1): values in the window spread over [y_min, y_max]."""
    if width < 1:
        raise ValueError(f"window width must be ≥ 1, got {width}")
    x = np.asarray(x, dtype=np.float64)
    lo, hi = center - 0.5 - (width - 1) / 2, center - 0.5 + (width - 1) / 2
    y = ((x - (center - 0.5)) / (width - 1) + 0.5) * (y_max - y_min) + y_min
    return np.where(x <= lo, y_min, np.where(x > hi, y_max, y))


def dicom_affine(orientation, position, spacing, slice_thickness: float = 1.0) -> np.ndarray:
    """4×4 affine from (row, column, slice) indices to LPS millimetres for one DICOM image.

    orientation: ImageOrientationPatient (6 numbers: row direction X, then column direction Y);
    position: ImagePositionPatient (the centre of the first transmitted pixel); spacing: PixelSpacing
    (row spacing Δr, column spacing Δc). The third column is the slice normal X × Y times the slice thickness.
    """
    o = np.asarray(orientation, dtype=np.float64)
    X, Y = o[:3], o[3:]
    dr, dc = (float(s) for s in spacing)
    A = np.eye(4)
    A[:3, 0] = Y * dr            # moving down one row goes along the column direction
    A[:3, 1] = X * dc            # moving right one column goes along the row direction
    A[:3, 2] = np.cross(X, Y) * slice_thickness
    A[:3, 3] = np.asarray(position, dtype=np.float64)
    return A


LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])


# -- geometry shared by DICOM and NIfTI ---------------------------------------------------------------------------
def voxel_to_world(affine: np.ndarray, ijk: np.ndarray) -> np.ndarray:
    """(..., 3) voxel indices → (..., 3) world coordinates: A[:3, :3] · ijk + A[:3, 3]."""
    ijk = np.asarray(ijk, dtype=np.float64)
    return ijk @ affine[:3, :3].T + affine[:3, 3]


def voxel_sizes(affine: np.ndarray) -> np.ndarray:
    """Voxel edge lengths (mm): the norms of the affine's first three columns."""
    return np.sqrt((affine[:3, :3] ** 2).sum(axis=0))


def axis_codes(affine: np.ndarray, labels=(("L", "R"), ("P", "A"), ("I", "S"))) -> tuple[str, ...]:
    """Orientation code of each array axis in RAS+ space, e.g. ('L', 'A', 'S'): where increasing the index goes.

    Axes are assigned greedily by the largest remaining |entry| so that no two axes get the same world axis."""
    R = affine[:3, :3] / voxel_sizes(affine)
    codes = [""] * 3
    free_world, free_axes = {0, 1, 2}, {0, 1, 2}
    while free_axes:
        a, w = max(((a, w) for a in free_axes for w in free_world), key=lambda aw: abs(R[aw[1], aw[0]]))
        codes[a] = labels[w][int(R[w, a] > 0)]
        free_axes.discard(a)
        free_world.discard(w)
    return tuple(codes)


# -- resampling -------------------------------------------------------------------------------------------------
def trilinear(volume: np.ndarray, coords: np.ndarray, cval: float = 0.0) -> np.ndarray:
    """Sample `volume` (3-D) at fractional voxel coordinates `coords` (3, ...) by trilinear interpolation.

    Each output is the weighted mean of the 8 surrounding voxels, weights (1 − f) or f per axis. Points outside
    [0, n − 1] on any axis get `cval` (scipy.ndimage's mode='constant')."""
    vol = np.asarray(volume, dtype=np.float64)
    c = np.asarray(coords, dtype=np.float64)
    shape = np.array(vol.shape)[:, None]
    flat = c.reshape(3, -1)
    inside = np.all((flat >= 0) & (flat <= shape - 1), axis=0)
    base = np.clip(np.floor(flat), 0, shape - 2).astype(np.int64)  # lower corner; the top face uses f = 1
    f = flat - base
    out = np.zeros(flat.shape[1])
    for corner in range(8):
        offs = np.array([(corner >> 2) & 1, (corner >> 1) & 1, corner & 1])[:, None]
        w = np.prod(np.where(offs == 1, f, 1.0 - f), axis=0)
        idx = base + offs
        out += w * vol[idx[0], idx[1], idx[2]]
    out[~inside] = cval
    return out.reshape(c.shape[1:])


def resample(volume: np.ndarray, affine: np.ndarray, out_affine: np.ndarray, out_shape: tuple[int, int, int],
             cval: float = 0.0) -> np.ndarray:
    """The volume on a new voxel grid: out voxel → world (out_affine) → input voxel (affine⁻¹) → trilinear."""
    grid = np.indices(out_shape).reshape(3, -1).T
    src = voxel_to_world(np.linalg.inv(affine) @ out_affine, grid)
    return trilinear(volume, src.T.reshape(3, *out_shape), cval)


def isotropic_grid(affine: np.ndarray, shape: tuple[int, int, int], size: float) -> tuple[np.ndarray, tuple[int, ...]]:
    """(out_affine, out_shape) of an axis-aligned RAS grid of `size`-mm voxels covering the volume's bounding box
    (what nibabel.processing.resample_to_output builds)."""
    corners = np.array([[i, j, k] for i in (0, shape[0] - 1) for j in (0, shape[1] - 1) for k in (0, shape[2] - 1)])
    world = voxel_to_world(affine, corners)
    lo, hi = world.min(0), world.max(0)
    out_shape = tuple(int(n) for n in np.ceil((hi - lo) / size).astype(int) + 1)
    out = np.eye(4)
    out[:3, :3] *= size
    out[:3, 3] = lo
    return out, out_shape
