"""Secure aggregation by pairwise masks (Bonawitz et al. 2017, the masking core): the server learns only the sum.

Setting: K clients hold vectors x_1..x_K (model updates). Every pair (i, j) agrees on a secret seed s_ij
through a Diffie-Hellman exchange (X25519 here) whose public keys the server relays but cannot use. From s_ij
both expand the same pseudo-random mask m_ij ∈ Z_R^P. Client i uploads

    y_i = x_i + Σ_{j > i} m_ij − Σ_{j < i} m_ji        (mod R)

Each m_ij appears once with + and once with −, so Σ_i y_i = Σ_i x_i (mod R) exactly, while each y_i alone is
uniformly distributed on Z_R^P: it is x_i plus at least one uniform mask the server does not know, a one-time
pad. Arithmetic must be exact for the masks to cancel, so real numbers are encoded in fixed point first:

    encode(x) = round(x · 2^f) mod 2^64          decode(v) = (v as a signed 64-bit integer) / 2^f

(f = 32 bits: resolution 2.3e-10, range ±2^31; the sum of K encodings decodes to Σ x_i with error ≤ K·2^−33.)
Overflow is the caller's business: |Σ x_i| must stay below 2^31.

Left out (and needed in production): dropout recovery. If a client vanishes after the masks were fixed, its
masks no longer cancel; Bonawitz et al. secret-share each client's DH key and a self-mask seed (Shamir, t of K)
so survivors can help the server remove exactly the missing masks, and nothing more. A sum is also not private
by itself; DP noise on the sum (DP-FedAvg, McMahan et al. 2018) bounds what it reveals.

`SecureAggregator` plugs the scheme into fedavg.fedavg as its server's aggregation step.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FRACTION_BITS = 32
_SCALE = float(2**FRACTION_BITS)


def encode(x: np.ndarray) -> np.ndarray:
    """Real vector → fixed point in Z_{2^64} (uint64, two's complement for negatives)."""
    return np.round(np.asarray(x, dtype=np.float64) * _SCALE).astype(np.int64).view(np.uint64)


def decode(v: np.ndarray) -> np.ndarray:
    return np.asarray(v, dtype=np.uint64).view(np.int64).astype(np.float64) / _SCALE


class Client:
    """One participant: an X25519 key pair, and the pairwise seeds it derives from the others' public keys."""

    def __init__(self, index: int, secret: bytes | None = None):
        """secret: 32 bytes of private key (None: fresh from the OS CSPRNG, as a real client does)."""
        from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

        self.index = index
        self._secret = X25519PrivateKey.generate() if secret is None else X25519PrivateKey.from_private_bytes(secret)
        self.public_bytes = self._secret.public_key().public_bytes_raw()
        self._seeds: dict[int, bytes] = {}

    def agree(self, public_keys: dict[int, bytes]) -> None:
        """Derive s_ij = HKDF-SHA256(X25519(sk_i, pk_j)) for every other client j (both sides get the same)."""
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey
        from cryptography.hazmat.primitives.kdf.hkdf import HKDF

        for j, pk in public_keys.items():
            if j == self.index:
                continue
            shared = self._secret.exchange(X25519PublicKey.from_public_bytes(pk))
            lo, hi = sorted((self.index, j))
            info = f"modelbook-secagg pair {lo}-{hi}".encode()
            self._seeds[j] = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(shared)

    def mask(self, x: np.ndarray, round_id: int, participants: set[int] | None = None) -> np.ndarray:
        """y_i = encode(x_i) + Σ_{j>i} m_ij − Σ_{j<i} m_ji (mod 2^64), over the other clients taking part in this
        round (the server announces who, before uploads); a fresh mask each round."""
        y = encode(x)
        for j, seed in self._seeds.items():
            if participants is not None and j not in participants:
                continue
            m = _expand(seed, round_id, y.size)
            y = y + m if j > self.index else y - m  # uint64 arithmetic wraps mod 2^64
        return y


def _expand(seed: bytes, round_id: int, size: int) -> np.ndarray:
    """The pairwise mask for one round: a PRG (Philox keyed by the seed, counter by the round) → uniform uint64."""
    key = np.frombuffer(seed[:16], dtype=np.uint64)
    gen = np.random.Generator(np.random.Philox(key=key, counter=[round_id, 0, 0, 0]))
    return gen.integers(0, 2**64, size=size, dtype=np.uint64, endpoint=False)


def setup(n_clients: int, rng: np.random.Generator | None = None) -> list[Client]:
    """Key generation and agreement: each client posts its public key, the server relays them all.

    rng: derive the private keys from a seeded generator, so a lab run is reproducible (never in production)."""
    secrets = [None if rng is None else rng.bytes(32) for _ in range(n_clients)]
    clients = [Client(i, s) for i, s in enumerate(secrets)]
    directory = {c.index: c.public_bytes for c in clients}  # what the server sees: public keys only
    for c in clients:
        c.agree(directory)
    return clients


def server_sum(masked: list[np.ndarray]) -> np.ndarray:
    """What the server computes: the sum of the uploads mod 2^64, decoded. Only the total is revealed."""
    total = np.zeros_like(masked[0])
    for y in masked:
        total = total + y
    return decode(total)


def secure_weighted_mean(clients: list[Client], vectors: list[np.ndarray], weights: list[float], round_id: int) -> np.ndarray:
    """FedAvg's Σ (n_k/n) x_k through masked uploads from `clients` (this round's participants, in the order of
    `vectors`): each scales its own vector by n_k/n before masking (sizes are announced; vectors are not)."""
    total = float(sum(weights))
    participants = {c.index for c in clients}
    masked = [c.mask(np.asarray(v, dtype=np.float64) * (w / total), round_id, participants)
              for c, v, w in zip(clients, vectors, weights)]
    return server_sum(masked)


class SecureAggregator:
    """A FedAvg server that sees only masked uploads: pass it as fedavg.fedavg's `aggregate`.

    Each call is one round (a fresh round id, so fresh masks): the selected clients' new weights are masked by
    their owners and the server decodes only the weighted sum (secure_weighted_mean). Round 0's inputs and
    result are kept in `first_round` = (selected, float64 vectors, sizes, secure mean), so a caller can compare
    the result with the plain mean and inspect what a client uploaded."""

    def __init__(self, clients: list[Client]):
        self.clients = clients
        self.rounds = 0
        self.first_round: tuple[np.ndarray, list[np.ndarray], list[float], np.ndarray] | None = None

    def __call__(self, selected: np.ndarray, updates: list, sizes: list[float]):
        import torch

        round_id = self.rounds
        self.rounds += 1
        vectors = [u.double().numpy() for u in updates]
        mean = secure_weighted_mean([self.clients[k] for k in selected], vectors, sizes, round_id)
        if round_id == 0:
            self.first_round = (selected, vectors, sizes, mean)
        return torch.tensor(mean, dtype=updates[0].dtype)


@dataclass(frozen=True)
class RoundAudit:
    """What a SecureAggregator's round 0 shows: the sum is exact, and one upload alone looks random."""
    max_abs_diff: float
    """max |secure mean − plain weighted mean| (fixed-point round-off only: at most K · 2^-32)"""
    p_masked: float
    """χ² p-value of the first client's masked upload's top bytes against uniform on 0..255"""
    p_clear: float
    """the same p-value for that client's share unmasked (only encoded)"""
    n_words: int
    """64-bit words in the upload (the χ² sample size)"""


def audit_first_round(server: SecureAggregator) -> RoundAudit:
    """Compare round 0's secure mean with the plain weighted mean, and rebuild the first selected client's upload
    (its weighted share, masked for that round and those participants) to test that its top bytes are uniform."""
    import torch
    from scipy.stats import chisquare

    from modelbook.privacy.fedavg import weighted_mean

    if server.first_round is None:
        raise ValueError("the aggregator has not run a round yet")
    selected, vectors, sizes, mean = server.first_round
    plain = weighted_mean(selected, [torch.from_numpy(v) for v in vectors], sizes).numpy()
    share = vectors[0] * sizes[0] / sum(sizes)
    masked = server.clients[selected[0]].mask(share, 0, {int(k) for k in selected})
    top_masked = (masked >> np.uint64(56)).astype(np.int64)  # top byte of each uploaded word
    top_clear = (encode(share) >> np.uint64(56)).astype(np.int64)
    return RoundAudit(max_abs_diff=float(np.abs(plain - mean).max()),
                      p_masked=float(chisquare(np.bincount(top_masked, minlength=256)).pvalue),
                      p_clear=float(chisquare(np.bincount(top_clear, minlength=256)).pvalue),
                      n_words=len(top_masked))
