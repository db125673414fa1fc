"""The inverse-relation rule baseline: how much of a benchmark is answered by looking up the reverse edge.

The ConvE README warns that Nations has more than 95% inverse relations and Kinships about 48%: for most test
triples (h, r, t) the training set already contains (t, r', h) for some relation r' that mirrors r. A model that
only knows this rule, with no embedding at all, then scores highly, so a KGE number on such a dataset says
little about generalisation. The rule, mined from the training triples:

    support(r, r') = #{(h, r, t) ∈ train : (t, r', h) ∈ train}
    conf(r → r'⁻¹) = max(support / #r, support / #r')      (either relation's pairs mostly mirrored, as the
                                                          ConvE repository's reverse_rule.py tests it)
    score(h, r, e) = max_{r'} conf(r → r'⁻¹) · 1[(e, r', h) ∈ train]            (and symmetrically for heads)

Every entity the rule does not support scores 0, so ties are many and the realistic rank matters (evaluate.py).

Cross-check: tests/kge/test_rules.py (a hand-made KG with a perfect inverse pair ranks every test triple first).
"""
from __future__ import annotations

import numpy as np
import torch

from modelbook.kge.models import KGEModel


class InverseRuleModel(KGEModel):
    def __init__(self, train: np.ndarray, n_entities: int, n_relations: int):
        super().__init__()
        self.n_entities, self.n_relations = n_entities, n_relations
        known = torch.zeros(n_relations, n_entities, n_entities)                       # [r, h, t]
        t = torch.from_numpy(train)
        known[t[:, 1], t[:, 0], t[:, 2]] = 1.0
        self.register_buffer("known", known)
        support = torch.einsum("aht,bth->ab", known, known)                             # (R, R)
        count = known.sum((1, 2)).clamp_min(1)
        self.register_buffer("confidence", torch.maximum(support / count[:, None], support / count[None, :]))

    def score_t(self, h, r):
        # rule r → r'⁻¹ predicts tail e when (e, r', h) is known: known[r', e, h]
        evidence = self.known[:, :, h].permute(2, 0, 1)                                # (B, R', N)
        return (self.confidence[r][:, :, None] * evidence).amax(1)

    def score_h(self, r, t):
        # head e is predicted when (t, r', e) is known: known[r', t, e]
        evidence = self.known[:, t, :].permute(1, 0, 2)                                # (B, R', N)
        return (self.confidence[r][:, :, None] * evidence).amax(1)

    def inverse_share(self, triples: np.ndarray, threshold: float = 0.5) -> float:
        """Share of `triples` (h, r, t) whose reverse (t, r', h) is in training for a rule r → r'⁻¹ with
        confidence ≥ threshold: what the ConvE README calls the share of inverse relations."""
        t = torch.from_numpy(triples)
        h, r, o = t.unbind(1)
        evidence = self.known[:, o, h].T                                               # (n, R'): (o, r', h) known
        strong = self.confidence[r] >= threshold
        return float((evidence.bool() & strong).any(1).float().mean())
