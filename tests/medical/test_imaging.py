"""Our DICOM/NIfTI pipeline equals pydicom, nibabel and scipy.ndimage on the bundled scans and random geometry."""
import os
import warnings

import nibabel as nib
import numpy as np
import pydicom
import pytest
from nibabel.affines import apply_affine
from pydicom.data import get_testdata_file
from pydicom.pixels import apply_modality_lut, apply_windowing
from scipy import ndimage

from modelbook.medical import imaging


def test_hounsfield_and_window_equal_pydicom():
    ct = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    hu = imaging.to_hounsfield(ct.pixel_array, ct.RescaleSlope, ct.RescaleIntercept)
    assert np.array_equal(hu, apply_modality_lut(ct.pixel_array, ct))
    mr = pydicom.dcmread(get_testdata_file("MR_small.dcm"))
    for c, w in ((600.0, 1600.0), (1000.0, 2.0), (300.5, 77.0)):
        mr.WindowCenter, mr.WindowWidth = c, w
        ref = apply_windowing(mr.pixel_array.astype(float), mr)
        assert np.abs(imaging.window(mr.pixel_array, c, w, -(2**15), 2**15 - 1) - ref).max() < 1e-9


def test_bite_window_without_the_half_pixel_offset_differs():
    mr = pydicom.dcmread(get_testdata_file("MR_small.dcm"))
    x = mr.pixel_array.astype(float)
    c, w = 600.0, 1600.0
    naive = np.clip((x - (c - w / 2)) / w, 0, 1) * (2**16 - 1) - 2**15   # the textbook window, not DICOM's
    assert np.abs(naive - apply_windowing(x, mr)).max() > 1.0


def test_dicom_affine_equals_nibabel_wrapper_in_plane():
    from nibabel.nicom import dicomwrappers

    for name in ("CT_small.dcm", "MR_small.dcm"):
        ds = pydicom.dcmread(get_testdata_file(name))
        A = imaging.dicom_affine(ds.ImageOrientationPatient, ds.ImagePositionPatient, ds.PixelSpacing, float(ds.SliceThickness))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = dicomwrappers.wrapper_from_data(ds).affine
        assert np.abs(A[:, [0, 1, 3]] - ref[:, [0, 1, 3]]).max() < 1e-9


def _random_affine(rng):
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    A = np.eye(4)
    A[:3, :3] = q @ np.diag(rng.uniform(0.5, 3.0, 3))
    A[:3, 3] = rng.normal(0, 50, 3)
    return A


def test_axis_codes_sizes_and_world_coordinates_equal_nibabel():
    rng = np.random.default_rng(1)
    for _ in range(50):
        A = _random_affine(rng)
        assert imaging.axis_codes(A) == nib.aff2axcodes(A)
        assert np.allclose(imaging.voxel_sizes(A), nib.affines.voxel_sizes(A))
        ijk = rng.uniform(-5, 40, size=(20, 3))
        assert np.allclose(imaging.voxel_to_world(A, ijk), apply_affine(A, ijk))


def test_trilinear_equals_scipy_map_coordinates_including_edges():
    rng = np.random.default_rng(2)
    vol = rng.normal(size=(9, 7, 5))
    pts = rng.uniform(-1.5, 9.5, size=(3, 500))
    pts[:, :20] = np.array([[8, 6, 4]]).T  # the far corner exactly
    ref = ndimage.map_coordinates(vol, pts, order=1, mode="constant", cval=0.0)
    assert np.abs(imaging.trilinear(vol, pts) - ref).max() < 1e-12


def test_resample_equals_nibabel_processing_on_anatomical():
    from nibabel.processing import resample_to_output

    img = nib.load(os.path.join(os.path.dirname(nib.__file__), "tests", "data", "anatomical.nii"))
    vol = np.asarray(img.dataobj, dtype=np.float64)
    for size in (1.5, 3.0):
        ref = resample_to_output(nib.Nifti1Image(vol, img.affine), voxel_sizes=(size,) * 3, order=1)
        A, shape = imaging.isotropic_grid(img.affine, img.shape, size)
        assert shape == ref.shape and np.allclose(A, ref.affine)
        assert np.abs(imaging.resample(vol, img.affine, A, shape) - ref.get_fdata()).max() < 1e-9


def test_window_rejects_bad_width():
    with pytest.raises(ValueError):
        imaging.window(np.zeros(3), 0.0, 0.5)
