"""Encrypted inference of a logistic regression with the CKKS homomorphic scheme (TenSEAL / Microsoft SEAL).

The client encrypts its features; the server, which holds the model (w, b) in clear, computes on ciphertexts;
only the client can decrypt the answer. CKKS (Cheon, Kim, Kim & Song 2017) encodes a vector of up to N/2 reals
into one ciphertext and supports element-wise addition and multiplication, approximately: every value carries
a small error (about 2^−(scale bits) relative), and each multiplication consumes one level of the modulus chain
(coeff_mod_bit_sizes = [special-ish first prime, one prime per level, special prime]). Non-linear functions must
become polynomials, and the depth of the polynomial is limited by the number of levels.

Two layouts of the same computation z = w·x + b:
  per sample:  one ciphertext holds one x (30 slots of 4096). The dot product needs rotations to sum the slots
               (Galois keys), so each prediction costs several key-switching operations.
  batched:     "column packing": ciphertext j holds feature j of every sample (SIMD). z = Σ_j w_j ct_j + b is 30
               plaintext-scalar multiplications and additions, with no rotation, for all samples at once.
The batched layout also has the levels left for the sigmoid, here a least-squares cubic on [−R, R]
(as in Kim et al. 2018's encrypted logistic regression); outside [−R, R] a cubic turns back, which is the
general problem of polynomial activations under HE.

`tenseal` is imported inside the functions (a compiled SEAL binding).
"""
from __future__ import annotations

import time

import numpy as np


def context(poly_modulus_degree: int = 8192, coeff_mod_bit_sizes: tuple[int, ...] = (60, 40, 40, 60),
            scale_bits: int = 40, galois_keys: bool = True):
    """A CKKS context (public and secret keys inside: this is the client's context)."""
    import tenseal as ts

    ctx = ts.context(ts.SCHEME_TYPE.CKKS, poly_modulus_degree=poly_modulus_degree,
                     coeff_mod_bit_sizes=list(coeff_mod_bit_sizes))
    ctx.global_scale = 2.0**scale_bits
    if galois_keys:
        ctx.generate_galois_keys()
    return ctx


def logits_per_sample(ctx, X: np.ndarray, w: np.ndarray, b: float) -> tuple[np.ndarray, float, int]:
    """Encrypt each row, compute Enc(x)·w + b on the ciphertext, decrypt.
    Returns (logits (N,), seconds per sample for encrypt+compute+decrypt, bytes of one serialised ciphertext)."""
    import tenseal as ts

    out, t0 = [], time.perf_counter()
    for x in X:
        enc = ts.ckks_vector(ctx, x.tolist())                 # client
        enc_z = enc.dot(w.tolist()) + float(b)                # server: never sees x or z
        out.append(enc_z.decrypt()[0])                        # client
    seconds = (time.perf_counter() - t0) / max(1, len(X))
    size = len(ts.ckks_vector(ctx, X[0].tolist()).serialize())
    return np.array(out), seconds, size


def scores_batched(ctx, X: np.ndarray, w: np.ndarray, b: float, poly: np.ndarray | None = None) -> tuple[np.ndarray, float]:
    """Column-packed inference for all rows at once: Σ_j w_j·Enc(X[:, j]) + b, then the polynomial `poly`
    (coefficients, lowest degree first) if given. Returns (values (N,), seconds per sample)."""
    import tenseal as ts

    t0 = time.perf_counter()
    columns = [ts.ckks_vector(ctx, X[:, j].tolist()) for j in range(X.shape[1])]   # client
    z = columns[0] * float(w[0])                                                  # server
    for j in range(1, X.shape[1]):
        z = z + columns[j] * float(w[j])
    z = z + float(b)
    if poly is not None:
        z = z.polyval([float(c) for c in poly])
    values = np.array(z.decrypt())                                                # client
    return values, (time.perf_counter() - t0) / len(X)


def sigmoid_poly(radius: float, degree: int = 3, n_grid: int = 100_001) -> np.ndarray:
    """Least-squares polynomial fit of the logistic sigmoid on [−radius, radius], lowest degree first (a dense
    grid, so it is the continuous least-squares fit to ~1e-6)."""
    z = np.linspace(-radius, radius, n_grid)
    return np.polynomial.polynomial.polyfit(z, 1 / (1 + np.exp(-z)), degree)
