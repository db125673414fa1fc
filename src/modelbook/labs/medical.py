"""Medical ML: calibrated diagnosis at clinical operating points, a DICOM/NIfTI pipeline with a synthetic-lesion
detection task, molecular property prediction under a scaffold split, and treatment effects with T-/X-learners
(topic 17).

What this lab shows
  1. Diagnosis on two real tables (Wisconsin breast cancer, 569; MASS Pima diabetes, 532): logistic regression
     vs Gaussian naive Bayes. Calibration (reliability diagram, ECE: naive Bayes is over-confident, Niculescu-Mizil
     & Caruana 2005). A screening operating point, sensitivity ≥ 0.95, chosen on training folds and held on the
     test set, and what specificity it costs (Pima pays far more than breast cancer). Decision curves (Vickers &
     Elkin 2006): the model's net benefit against treat-all and treat-none, whose exact values the code reproduces.
  2. Imaging: pydicom's bundled CT_small / MR_small and nibabel's anatomical.nii. Stored values → HU (modality
     LUT) and the DICOM VOI window, equal to pydicom's; the DICOM voxel → patient affine, equal to nibabel's
     DICOM wrapper in-plane; NIfTI orientation codes, voxel sizes and world coordinates equal to nibabel's; our
     trilinear resampling to 3 mm equal to nibabel.processing / scipy.ndimage. Then lesions of known diameter
     (3/6/10 mm) and contrast (40/80/160 HU) are inserted into the real CT slice; a scale-normalised LoG detector
     finds them; FROC curves and sensitivity at 1 false positive per image by size and contrast. Contrast helps as
     the Rose model says; size does not, because anatomy is not white noise (see the note).
  3. Drug discovery: NCI molecules shipped with RDKit, target Crippen logP (RDKit computes it exactly); a GCN from
     modelbook.graphs with a sum readout vs Morgan fingerprints + random forest; random split vs Bemis–Murcko
     scaffold split (MoleculeNet). Both models lose accuracy on unseen scaffolds; the GNN beats the fingerprints.
     RDKit's TPSA is checked against Ertl's own program's values shipped in the same folder.
  4. Personalised medicine: the Pima covariates with simulated confounded treatment and outcomes (true effects
     known): naive difference in means vs T-learner vs X-learner (gradient boosting base learners). PEHE and the
     Qini curve on a simulated randomised trial over held-out people.

Differences from the references
  - Künzel et al. compare learners over many simulated response surfaces; here one surface (confounded by
    glucose and age, 30% treated), so "X beats T" is checked only for this unbalanced design.
  - The lesion task is a single real CT slice in 8 orientations with added noise, not a reader study; FROC here
    is the free-response curve of an automatic detector, not observer performance.

Building blocks: modelbook/medical/{decision,imaging,lesions,molecules,uplift}.py, data/clinical.py
Cross-checks:    tests/medical/, tests/labs/test_medical.py
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from modelbook.core import plots, progress
from modelbook.core.result import LabResult
from modelbook.core.seed import seed_everything
from modelbook.evaluation.calibration import expected_calibration_error, reliability_bins
from modelbook.medical import decision, imaging, lesions, molecules, uplift

VICKERS = "Vickers & Elkin 2006, Decision curve analysis, Med Decis Making 26:565 (net benefit formula)"
NICULESCU = "Niculescu-Mizil & Caruana 2005, Predicting good probabilities with supervised learning (NB over-confident, LR calibrated)"
DICOM_STD = "DICOM PS3.3 C.11.1 / C.11.2.1.2.1 (modality LUT, linear VOI window), as pydicom 3.0 implements them"
ROSE = "Rose 1948 / Burgess 1999: detectability grows with contrast × √area (Rose model)"
KUNZEL = "Künzel, Sekhon, Bickel & Yu 2019, Metalearners for estimating heterogeneous treatment effects, PNAS 116:4156"
MOLNET = "Wu et al. 2018, MoleculeNet (scaffold split is harder than random split)"
SCREEN_SENSITIVITY = 0.95           # a screening test misses at most 1 case in 20
NB_THRESHOLDS = np.round(np.arange(0.05, 0.51, 0.05), 2)   # threshold probabilities of the decision curves
LESION_SIZES_MM = (3.0, 6.0, 10.0)
LESION_CONTRASTS_HU = (40.0, 80.0, 160.0)
SOFT_TISSUE_WINDOW = (40.0, 400.0)  # centre, width (HU): the usual abdominal soft-tissue window
FP_RATE = 1.0                       # operating point of the FROC: 1 false positive per image


@dataclass(frozen=True)
class Config:
    test_fraction: float = 0.3
    """held-out share of each diagnosis table"""
    lesion_images: int = 160
    """lesion-detection cases (the CT slice in one of 8 orientations + noise, 4 lesions each)"""
    lesion_noise_hu: float = 10.0
    """white noise added to each case (HU), so no two backgrounds are the same"""
    n_molecules: int = 2000
    """NCI molecules (the first ones RDKit parses, in file order)"""
    gnn_epochs: int = 200
    gnn_width: int = 48
    rf_trees: int = 100
    random_splits: int = 2
    """random splits averaged against the (deterministic) scaffold split"""
    uplift_reps: int = 10
    """simulated outcome draws for the treatment-effect study"""
    seed: int = 0
    threads: int = 1
    """torch and BLAS threads, pinned by the runner around run()"""

    RANGES: ClassVar[dict] = {"test_fraction": (0.1, 0.5), "lesion_images": (8, 5000), "lesion_noise_hu": (0.0, 200.0),
                              "n_molecules": (200, 4900), "gnn_epochs": (1, 5000), "gnn_width": (4, 512),
                              "rf_trees": (1, 2000), "random_splits": (1, 20), "uplift_reps": (1, 100)}


PRESETS = {
    "quick": Config(lesion_images=40, n_molecules=400, gnn_epochs=150, gnn_width=32, rf_trees=40, random_splits=1,
                    uplift_reps=1),
    "full": Config(),
}


def run(cfg: Config, out: Path) -> LabResult:
    result = LabResult("medical", cfg)
    seed_everything(cfg.seed)
    _diagnosis(result, cfg, out)
    _imaging_pipeline(result, cfg)
    _lesion_detection(result, cfg, out)
    _molecules(result, cfg, out)
    _treatment_effects(result, cfg, out)
    return result


# -- 1. diagnosis: calibration, operating points, decision curves ----------------------------------------------
def _diagnosis(result: LabResult, cfg: Config, out: Path) -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import confusion_matrix, roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict, train_test_split
    from sklearn.naive_bayes import GaussianNB
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from modelbook.data.clinical import pima
    from modelbook.data.tabular import breast_cancer

    Xb, yb, _ = breast_cancer()
    Xp, yp, _, _ = pima()
    fig, axes = plots.figure(2, 2, size=(10, 8))
    v = result.value
    for row, (name, X, y) in enumerate((("breast_cancer", Xb, yb), ("pima", Xp, yp))):
        Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=cfg.test_fraction, stratify=y, random_state=cfg.seed % 2**32)
        folds = StratifiedKFold(5, shuffle=True, random_state=cfg.seed % 2**32)
        models = {"logreg": make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)), "naive_bayes": GaussianNB()}
        probs = {}
        for key, model in models.items():
            oof_all = cross_val_predict(model, X, y, cv=folds, method="predict_proba")[:, 1]   # every row out of fold
            result.metric(f"diag/{name}/{key}/ece_oof", expected_calibration_error(y, oof_all, 10))
            probs[key] = model.fit(Xtr, ytr).predict_proba(Xte)[:, 1]
            result.metric(f"diag/{name}/{key}/auc", roc_auc_score(yte, probs[key]))
            pt, pp, _ = reliability_bins(y, oof_all, 10)
            axes[row, 0].plot(pp, pt, "o-", label=f"{key} (ECE {v(f'diag/{name}/{key}/ece_oof'):.3f})")
        result.check(f"{name}: naive Bayes ECE − logistic regression ECE (out-of-fold, 10 bins)",
                     v(f"diag/{name}/naive_bayes/ece_oof") - v(f"diag/{name}/logreg/ece_oof"), reference=0.0, tolerance=0.0,
                     source=NICULESCU, kind="at_least")
        axes[row, 0].plot([0, 1], [0, 1], "k:", lw=1)
        axes[row, 0].set(xlabel="mean predicted probability", ylabel="observed frequency", title=f"{name}: reliability (out of fold)")
        axes[row, 0].legend(fontsize=7)

        # the screening operating point, chosen on the training folds only
        oof_tr = cross_val_predict(models["logreg"], Xtr, ytr, cv=folds, method="predict_proba")[:, 1]
        thr = decision.threshold_for_sensitivity(ytr, oof_tr, SCREEN_SENSITIVITY)
        sens, spec = decision.sensitivity_specificity(yte, probs["logreg"], thr)
        ysens, yspec = decision.sensitivity_specificity(yte, probs["logreg"], decision.youden_threshold(ytr, oof_tr))
        result.metric(f"diag/{name}/screen_threshold", thr)
        result.metric(f"diag/{name}/screen_sensitivity", sens)
        result.metric(f"diag/{name}/screen_specificity", spec)
        result.metric(f"diag/{name}/youden_sensitivity", ysens)
        result.metric(f"diag/{name}/youden_specificity", yspec)
        # Two sources of noise: the held-out positives (binomial in n+ test) and the threshold itself, a 5% quantile
        # of the n+ training positives' scores (the true sensitivity at an estimated quantile has variance ≈ p(1-p)/n).
        n_pos, n_pos_tr = int(yte.sum()), int(ytr.sum())
        se = np.sqrt(SCREEN_SENSITIVITY * (1 - SCREEN_SENSITIVITY) * (1 / n_pos + 1 / n_pos_tr))
        result.check(f"{name}: test sensitivity at the threshold set for ≥ 0.95 on training folds (3 SE: binomial on "
                     f"n+ = {n_pos} held out, quantile on n+ = {n_pos_tr} training)",
                     sens, reference=SCREEN_SENSITIVITY, tolerance=3 * se, kind="at_least",
                     source="clinical screening target (sensitivity ≥ 0.95); standard error of the held-out estimate "
                            "and of the training-quantile threshold")

        # decision curves; treat-all / treat-none exact, our net benefit = the one from sklearn's confusion matrix
        prev = float(yte.mean())
        nb_model = decision.decision_curve(yte, probs["logreg"], NB_THRESHOLDS)
        nb_all = decision.decision_curve(yte, np.ones_like(probs["logreg"]), NB_THRESHOLDS)
        nb_none = decision.decision_curve(yte, np.zeros_like(probs["logreg"]), NB_THRESHOLDS)
        exact_all = prev - (1 - prev) * NB_THRESHOLDS / (1 - NB_THRESHOLDS)
        from_cm = []
        for t in NB_THRESHOLDS:
            tn, fp, fn, tp = confusion_matrix(yte, probs["logreg"] >= t, labels=[0, 1]).ravel()
            from_cm.append(tp / len(yte) - fp / len(yte) * t / (1 - t))
        result.check(f"{name}: treat-all net benefit vs prevalence − (1 − prevalence)·pt/(1 − pt), max |Δ|",
                     np.abs(nb_all - exact_all).max(), reference=0.0, tolerance=1e-12, kind="at_most", source=VICKERS)
        result.check(f"{name}: treat-none net benefit (max |value|; exactly 0)", np.abs(nb_none).max(), reference=0.0,
                     tolerance=0.0, kind="at_most", source=VICKERS)
        result.check(f"{name}: model net benefit vs TP/n − FP/n·pt/(1 − pt) from sklearn's confusion matrix, max |Δ|",
                     np.abs(nb_model - np.array(from_cm)).max(), reference=0.0, tolerance=1e-12, kind="at_most",
                     source=VICKERS + "; sklearn.metrics.confusion_matrix")
        best_ref = np.maximum(exact_all, 0.0)
        # from pt = 0.1: below it the model flags nearly everyone and coincides with treat-all up to sampling noise
        useful = NB_THRESHOLDS >= 0.1
        margin = result.metric(f"diag/{name}/min_net_benefit_over_references", (nb_model - best_ref)[useful].min())
        for t, m in zip((0.1, 0.2, 0.3), (nb_model[1], nb_model[3], nb_model[5])):
            result.metric(f"diag/{name}/net_benefit_pt{t}", m)
        result.metric(f"diag/{name}/prevalence_test", prev)
        # 0.01 = one true positive per 100 patients: the resolution Vickers & Elkin read decision curves at
        result.check(f"{name}: logistic model's net benefit − max(treat all, treat none), min over pt 0.1–0.5",
                     margin, reference=0.0, tolerance=0.01, kind="at_least", source=VICKERS + " (a useful model lies above both)")
        ax = axes[row, 1]
        ax.plot(NB_THRESHOLDS, nb_model, "o-", label="logistic regression")
        ax.plot(NB_THRESHOLDS, exact_all, "--", label="treat all")
        ax.axhline(0, c="k", lw=1, label="treat none")
        ax.set(xlabel="threshold probability pt", ylabel="net benefit", ylim=(min(-0.05, nb_model.min()), prev + 0.05),
               title=f"{name}: decision curve (test set)")
        ax.legend(fontsize=7)
    result.artifact(plots.save(fig, out / "diagnosis.png"))
    result.note(f"Screening at sensitivity ≥ 0.95 (threshold from training folds): breast cancer keeps specificity "
                f"{v('diag/breast_cancer/screen_specificity'):.2f}, Pima only {v('diag/pima/screen_specificity'):.2f} "
                f"(Youden point: {v('diag/pima/youden_sensitivity'):.2f}/{v('diag/pima/youden_specificity'):.2f}); "
                f"test AUC {v('diag/breast_cancer/logreg/auc'):.3f} vs {v('diag/pima/logreg/auc'):.3f}.")


# -- 2a. the DICOM / NIfTI pipeline against pydicom and nibabel ---------------------------------------------------
def _imaging_pipeline(result: LabResult, cfg: Config) -> None:
    import nibabel as nib
    import pydicom
    from nibabel.affines import apply_affine
    from nibabel.nicom import dicomwrappers
    from nibabel.processing import resample_to_output
    from pydicom.data import get_testdata_file
    from pydicom.pixels import apply_modality_lut, apply_windowing

    from modelbook.data.clinical import nifti_anatomical_path

    ct = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    mr = pydicom.dcmread(get_testdata_file("MR_small.dcm"))
    hu = imaging.to_hounsfield(ct.pixel_array, ct.RescaleSlope, ct.RescaleIntercept)
    result.check("CT_small: our HU (stored·slope + intercept) vs pydicom apply_modality_lut, max |Δ|",
                 np.abs(hu - apply_modality_lut(ct.pixel_array, ct)).max(), reference=0.0, tolerance=0.0, kind="at_most", source=DICOM_STD)
    c, w = float(mr.WindowCenter), float(mr.WindowWidth)
    y_lo, y_hi = (-(2 ** (mr.BitsStored - 1)), 2 ** (mr.BitsStored - 1) - 1) if mr.PixelRepresentation else (0, 2**mr.BitsStored - 1)
    ours = imaging.window(mr.pixel_array, c, w, y_lo, y_hi)
    result.check("MR_small: our VOI window (its own centre 600 / width 1600) vs pydicom apply_windowing, max |Δ|",
                 np.abs(ours - apply_windowing(mr.pixel_array.astype(float), mr)).max(), reference=0.0, tolerance=1e-9,
                 kind="at_most", source=DICOM_STD)
    ct.WindowCenter, ct.WindowWidth = SOFT_TISSUE_WINDOW
    # pydicom's output range is that of the modality values: the stored range put through slope and intercept
    lo, hi = (imaging.to_hounsfield(np.array([-(2**15), 2**15 - 1]), ct.RescaleSlope, ct.RescaleIntercept) if ct.PixelRepresentation
              else imaging.to_hounsfield(np.array([0, 2**ct.BitsStored - 1]), ct.RescaleSlope, ct.RescaleIntercept))
    ours = imaging.window(hu, *SOFT_TISSUE_WINDOW, lo, hi)
    result.check("CT_small: soft-tissue window 40/400 on HU vs pydicom apply_windowing, max |Δ|",
                 np.abs(ours - apply_windowing(hu, ct)).max(), reference=0.0, tolerance=1e-9, kind="at_most", source=DICOM_STD)
    A = imaging.dicom_affine(ct.ImageOrientationPatient, ct.ImagePositionPatient, ct.PixelSpacing, float(ct.SliceThickness))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")          # nibabel calls its DICOM readers experimental
        ref = dicomwrappers.wrapper_from_data(ct).affine
    result.check("CT_small: our DICOM voxel→LPS affine vs nibabel's DICOM wrapper (in-plane columns + origin), max |Δ| mm",
                 np.abs(A[:, [0, 1, 3]] - ref[:, [0, 1, 3]]).max(), reference=0.0, tolerance=1e-9, kind="at_most",
                 source="DICOM PS3.3 C.7.6.2.1.1 (image plane equation); nibabel.nicom.dicomwrappers")
    result.metric("imaging/ct_pixel_spacing_mm", float(ct.PixelSpacing[0]))

    img = nib.load(nifti_anatomical_path())
    vol = np.asarray(img.dataobj, dtype=np.float64)
    same_codes = imaging.axis_codes(img.affine) == nib.aff2axcodes(img.affine)
    result.check("anatomical.nii: orientation codes equal nibabel.aff2axcodes (1 = equal)", float(same_codes), reference=1.0,
                 tolerance=0.0, source="nibabel.orientations.aff2axcodes")
    result.check("anatomical.nii: voxel sizes vs header zooms, max |Δ| mm",
                 np.abs(imaging.voxel_sizes(img.affine) - np.array(img.header.get_zooms()[:3])).max(), reference=0.0,
                 tolerance=1e-6, kind="at_most", source="nibabel Nifti1Header.get_zooms")
    ijk = np.indices(img.shape).reshape(3, -1).T
    result.check("anatomical.nii: voxel→world (RAS mm) vs nibabel.affines.apply_affine, max |Δ|",
                 np.abs(imaging.voxel_to_world(img.affine, ijk) - apply_affine(img.affine, ijk)).max(), reference=0.0,
                 tolerance=1e-9, kind="at_most", source="nibabel.affines.apply_affine")
    ref_img = resample_to_output(nib.Nifti1Image(vol, img.affine), voxel_sizes=(3.0, 3.0, 3.0), order=1)
    out_affine, out_shape = imaging.isotropic_grid(img.affine, img.shape, 3.0)
    ours = imaging.resample(vol, img.affine, out_affine, out_shape)
    same_grid = out_shape == ref_img.shape and np.allclose(out_affine, ref_img.affine)
    result.check("anatomical.nii 2 mm → 3 mm: our grid + trilinear vs nibabel.processing.resample_to_output(order=1), "
                 "max |Δ| / max |signal|", np.abs(ours - ref_img.get_fdata()).max() / np.abs(vol).max() if same_grid else np.inf,
                 reference=0.0, tolerance=1e-9, kind="at_most", source="nibabel.processing.resample_to_output (scipy.ndimage.affine_transform)")
    result.metric("imaging/resampled_shape_voxels", float(np.prod(out_shape)))


# -- 2b. synthetic lesions in the real CT slice, a LoG detector, FROC --------------------------------------------
def _lesion_detection(result: LabResult, cfg: Config, out: Path) -> None:
    import pydicom
    from matplotlib.patches import Circle
    from pydicom.data import get_testdata_file

    ct = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    spacing = float(ct.PixelSpacing[0])
    base = imaging.to_hounsfield(ct.pixel_array, ct.RescaleSlope, ct.RescaleIntercept)
    radii_px = [d / 2 / spacing for d in LESION_SIZES_MM]
    rng = np.random.default_rng([cfg.seed, 17])
    all_lesions, best_scores, fp_scores = [], [], []
    example = None
    for i in progress.track(range(cfg.lesion_images), "lesion detection"):
        case, les, cand, best, fps = lesions.simulate_case(base, i, spacing, LESION_SIZES_MM, LESION_CONTRASTS_HU, 4,
                                                           cfg.lesion_noise_hu, SOFT_TISSUE_WINDOW, rng)
        all_lesions += les
        best_scores.append(best)
        fp_scores.append(fps)
        if example is None:
            example = (case, les, cand[:8])
    best = np.concatenate(best_scores)
    fps = np.concatenate(fp_scores)
    curve = lesions.froc(best, fps, cfg.lesion_images)
    thr = lesions.lesion_threshold_at(fps, cfg.lesion_images, FP_RATE)
    found = best >= thr
    size = np.array([le.diameter_mm for le in all_lesions])
    contrast = np.array([le.contrast for le in all_lesions])
    result.metric("lesions/n_lesions", len(all_lesions))
    result.metric("lesions/sensitivity_at_1fp", found.mean())
    for d in LESION_SIZES_MM:
        result.metric(f"lesions/sensitivity_at_1fp/size_{d:g}mm", found[size == d].mean())
    for c in LESION_CONTRASTS_HU:
        result.metric(f"lesions/sensitivity_at_1fp/contrast_{c:g}hu", found[contrast == c].mean())
    v = result.value
    result.check("FROC at 1 FP/image: sensitivity for 160 HU − for 40 HU contrast", v("lesions/sensitivity_at_1fp/contrast_160hu")
                 - v("lesions/sensitivity_at_1fp/contrast_40hu"), reference=0.3, tolerance=0.0, kind="at_least", source=ROSE)
    small, large = v("lesions/sensitivity_at_1fp/size_3mm"), v("lesions/sensitivity_at_1fp/size_10mm")
    result.note(f"Lesion size in a real CT background: sensitivity at 1 FP/image is {small:.2f} for 3 mm and {large:.2f} "
                f"for 10 mm lesions. The white-noise Rose model says bigger is easier; anatomy is not white noise: its power "
                f"grows at low spatial frequencies, so the large-scale filter that matches a big lesion also sees more "
                f"background structure (the detector standardises each scale by its own spread). Contrast is what helps.")
    from scipy.ndimage import gaussian_laplace
    probe = example[0]
    r = radii_px[1]
    ours = lesions.log_response(probe, r)
    result.check("scale-normalised LoG response vs −σ²·scipy.ndimage.gaussian_laplace, max |Δ|",
                 np.abs(ours + (r / np.sqrt(2)) ** 2 * gaussian_laplace(probe, r / np.sqrt(2))).max(), reference=0.0,
                 tolerance=1e-9, kind="at_most", source="scipy.ndimage.gaussian_laplace; Lindeberg 1998 scale normalisation")

    fig, (ax1, ax2) = plots.figure(1, 2, size=(11, 4.5))
    case, les, cand = example
    ax1.imshow(imaging.window(case, *SOFT_TISSUE_WINDOW), cmap="gray")
    for le in les:
        ax1.add_patch(Circle((le.col, le.row), le.radius_px + 2, fill=False, ec="lime"))
        ax1.text(le.col + le.radius_px + 2, le.row, f"{le.diameter_mm:g}mm/{le.contrast:g}", color="lime", fontsize=7)
    ax1.plot(cand[:, 1], cand[:, 0], "r+", ms=8, label="top detections")
    ax1.set(title="CT_small + inserted lesions (window 40/400)")
    ax1.axis("off")
    for d in LESION_SIZES_MM:
        sub = lesions.froc(best[size == d], fps, cfg.lesion_images)
        ax2.plot(sub.fp_per_image, sub.sensitivity, label=f"{d:g} mm")
    ax2.plot(curve.fp_per_image, curve.sensitivity, "k--", label="all")
    ax2.axvline(FP_RATE, c="grey", lw=1, ls=":")
    ax2.set(xscale="log", xlim=(0.02, 20), ylim=(0, 1.02), xlabel="false positives per image", ylabel="lesion sensitivity",
            title=f"FROC, {len(all_lesions)} lesions in {cfg.lesion_images} images")
    ax2.legend(fontsize=7)
    result.artifact(plots.save(fig, out / "lesions_froc.png"))


# -- 3. molecules: GNN vs fingerprints, random vs scaffold split ---------------------------------------------------
def _molecules(result: LabResult, cfg: Config, out: Path) -> None:
    from rdkit import Chem, RDLogger
    from rdkit.Chem import Crippen, rdMolDescriptors
    from sklearn.ensemble import RandomForestRegressor

    from modelbook.data.clinical import nci_tpsa

    RDLogger.DisableLog("rdApp.*")   # a few NCI SMILES are truncated in the file; RDKit would print each one
    smiles, tpsa_ertl, _ = nci_tpsa()
    mols, ertl = [], []
    for s, t in zip(smiles, tpsa_ertl):
        m = Chem.MolFromSmiles(s)
        if m is not None and m.GetNumBonds() > 0:
            mols.append(m)
            ertl.append(t)
    agree = np.abs(np.array([rdMolDescriptors.CalcTPSA(m) for m in mols]) - np.array(ertl)) <= 0.01
    result.metric("mol/n_parsed", len(mols))
    result.check(f"RDKit TPSA = Ertl's tpsa.c values shipped with RDKit (fraction of {len(mols)} molecules within 0.01 Å²)",
                 agree.mean(), reference=0.999, tolerance=0.0, kind="at_least",
                 source="Ertl, Rohde & Selzer 2000 (TPSA); values in rdkit Data/NCI/first_5k.tpsa.csv from Ertl's program")
    mols = mols[: cfg.n_molecules]
    y = np.array([Crippen.MolLogP(m) for m in mols])
    graphs = [molecules.mol_graph(m) for m in mols]
    fps = molecules.morgan_fingerprints(mols)
    scaffolds = molecules.murcko_scaffolds(mols)
    rng = np.random.default_rng([cfg.seed, 3])
    splits = [("scaffold", molecules.scaffold_split(scaffolds, 0.2))]
    splits += [("random", molecules.random_split(len(mols), 0.2, rng)) for _ in range(cfg.random_splits)]
    mae: dict[tuple[str, str], list[float]] = {}
    for k, (name, (tr, te)) in enumerate(progress.track(splits, "molecules: GNN and RF")):
        gnn = molecules.train_gnn([graphs[i] for i in tr], y[tr], cfg.gnn_epochs, width=cfg.gnn_width, seed=cfg.seed + k)
        p = molecules.predict_gnn(gnn, [graphs[i] for i in te])
        rf = RandomForestRegressor(cfg.rf_trees, max_features=0.3, random_state=(cfg.seed + k) % 2**32, n_jobs=1).fit(fps[tr], y[tr])
        q = rf.predict(fps[te])
        mae.setdefault(("gnn", name), []).append(float(np.abs(p - y[te]).mean()))
        mae.setdefault(("rf", name), []).append(float(np.abs(q - y[te]).mean()))
    shared = len(set(scaffolds[i] for i in splits[0][1][0]) & set(scaffolds[i] for i in splits[0][1][1]))
    result.metric("mol/scaffold_split_shared_scaffolds", shared)
    result.metric("mol/n_scaffolds", len(set(scaffolds)))
    for (model, name), vals in mae.items():
        result.metric(f"mol/{model}/{name}/mae", np.mean(vals))
    v = result.value
    for model, label in (("gnn", "GCN (sum readout)"), ("rf", "Morgan + random forest")):
        gap = result.metric(f"mol/{model}/scaffold_gap", v(f"mol/{model}/scaffold/mae") - v(f"mol/{model}/random/mae"))
        result.check(f"{label}: logP MAE on unseen scaffolds − on a random split", gap, reference=0.0, tolerance=0.0,
                     kind="at_least", source=MOLNET)
    result.check("GCN MAE / Morgan-RF MAE, scaffold split (message passing beats bit vectors on an additive property)",
                 v("mol/gnn/scaffold/mae") / v("mol/rf/scaffold/mae"), reference=1.0, tolerance=0.0, kind="at_most",
                 source=MOLNET + "; Crippen logP is a sum of atom contributions (Wildman & Crippen 1999)")
    fig, ax = plots.figure(1, 1, size=(6, 4))
    xs = np.arange(2)
    for j, model in enumerate(("gnn", "rf")):
        ax.bar(xs + 0.38 * j, [v(f"mol/{model}/random/mae"), v(f"mol/{model}/scaffold/mae")], 0.36,
               label={"gnn": "GCN", "rf": "Morgan + RF"}[model])
    ax.set(xticks=xs + 0.19, xticklabels=["random split", "scaffold split"], ylabel="logP MAE (test)",
           title=f"{len(mols)} NCI molecules, Crippen logP")
    ax.legend()
    result.artifact(plots.save(fig, out / "molecules.png"))


# -- 4. treatment effects on semi-synthetic Pima -----------------------------------------------------------------
def _treatment_effects(result: LabResult, cfg: Config, out: Path) -> None:
    from sklearn.ensemble import GradientBoostingRegressor
    from sklearn.linear_model import LogisticRegression

    from modelbook.data.clinical import pima

    X, _, _, _ = pima()
    Z = (X - X.mean(0)) / X.std(0)
    e, mu0, tau = uplift.semi_synthetic_pima(Z)
    rng = np.random.default_rng([cfg.seed, 4])
    scores = {k: [] for k in ("naive", "t", "x")}
    qini = {k: [] for k in ("naive", "t", "x", "oracle")}
    curves = None
    for r in progress.track(range(cfg.uplift_reps), "treatment effects"):
        perm = rng.permutation(len(Z))
        tr, te = perm[: int(0.7 * len(Z))], perm[int(0.7 * len(Z)):]
        T = rng.random(len(Z)) < e
        Y = mu0 + T * tau + rng.normal(0.0, 1.0, len(Z))

        def make(r=r):
            return GradientBoostingRegressor(n_estimators=100, max_depth=2, learning_rate=0.1, random_state=(cfg.seed + r) % 2**32)
        ps = LogisticRegression(max_iter=1000).fit(Z[tr], T[tr])
        est = {"naive": np.full(len(te), uplift.naive_effect(T[tr], Y[tr])),
               "t": uplift.t_learner(Z[tr], T[tr], Y[tr], make)(Z[te]),
               "x": uplift.x_learner(Z[tr], T[tr], Y[tr], make, lambda A: ps.predict_proba(A)[:, 1])(Z[te])}
        for k, tau_hat in est.items():
            scores[k].append(uplift.pehe(tau_hat, tau[te]))
        # a simulated randomised trial on the held-out people (10 outcome draws stacked) scores the rankings
        draws = 10
        Tr = rng.random(draws * len(te)) < 0.5
        Yr = np.tile(mu0[te], draws) + Tr * np.tile(tau[te], draws) + rng.normal(0.0, 1.0, draws * len(te))
        ranked = dict(est, oracle=tau[te])
        for k, s in ranked.items():
            qini[k].append(uplift.qini_coefficient(np.tile(s, draws), Tr, Yr))
        if curves is None:
            curves = {k: uplift.qini_curve(np.tile(s, draws), Tr, Yr) for k, s in ranked.items()}
    for k in scores:
        result.metric(f"uplift/pehe/{k}", np.mean(scores[k]))
    for k in qini:
        result.metric(f"uplift/qini/{k}", np.mean(qini[k]))
    result.metric("uplift/true_ate", tau.mean())
    result.metric("uplift/treated_fraction", e.mean())
    v = result.value
    result.check("X-learner PEHE / naive difference-in-means PEHE", v("uplift/pehe/x") / v("uplift/pehe/naive"), reference=0.5,
                 tolerance=0.0, kind="at_most", source=KUNZEL)
    result.check("X-learner PEHE / T-learner PEHE (unbalanced groups, 31% treated)", v("uplift/pehe/x") / v("uplift/pehe/t"),
                 reference=1.0, tolerance=0.0, kind="at_most", source=KUNZEL + ", §4 (X-learner gains when one group is small)")
    result.check("Qini coefficient of the X-learner's ranking / the true effect's ranking (simulated RCT)",
                 v("uplift/qini/x") / v("uplift/qini/oracle"), reference=0.6, tolerance=0.0, kind="at_least",
                 source="Radcliffe 2007 (Qini); the oracle ranks by the known τ(x)")
    fig, ax = plots.figure(1, 1, size=(6, 4.2))
    for k, (kk, q) in curves.items():
        ax.plot(kk / kk[-1], q / kk[-1], label={"naive": "naive (one effect for all = random)", "t": "T-learner",
                                                 "x": "X-learner", "oracle": "true τ(x)"}[k])
    ax.set(xlabel="fraction treated, ranked by predicted effect", ylabel="Qini (incremental outcome per person)",
           title="Qini curves on a simulated RCT (held-out Pima)")
    ax.legend(fontsize=7)
    result.artifact(plots.save(fig, out / "qini.png"))
