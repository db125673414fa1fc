"""Medical ML building blocks: decision curves and operating points, a DICOM/NIfTI pipeline, synthetic-lesion
detection with FROC, molecules as graphs for the GNN with scaffold splits, T-/X-learners with PEHE and Qini.

    from modelbook.medical import decision, imaging, lesions, molecules, uplift

Cross-checked in tests/medical/ against scikit-learn, pydicom, nibabel, scipy.ndimage and RDKit.
"""
