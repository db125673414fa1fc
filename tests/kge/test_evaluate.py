"""Our filtered rank-based evaluator == pykeen.evaluation.RankBasedEvaluator on identical score matrices."""
import numpy as np
import pytest
import torch

from modelbook.data.kg import load_kg
from modelbook.kge import TransE, evaluate, evaluate_model, known_triples_mask, ranks_from_scores

KEYS = (("mrr", "inverse_harmonic_mean_rank"), ("mr", "arithmetic_mean_rank"), ("hits@1", "hits_at_1"),
        ("hits@3", "hits_at_3"), ("hits@10", "hits_at_10"))


def _pykeen_on_scores(kg, score_t, score_h):
    """PyKEEN's own filtering (create_sparse_positive_filter_ / filter_scores_) and RankBasedEvaluator."""
    from pykeen.evaluation import RankBasedEvaluator
    from pykeen.evaluation.evaluator import create_sparse_positive_filter_, filter_scores_

    evaluator = RankBasedEvaluator()
    batch = torch.from_numpy(kg.test)
    all_pos = torch.from_numpy(kg.all_triples())
    for target, col, scores in (("head", 0, score_h(batch[:, 1], batch[:, 2])), ("tail", 2, score_t(batch[:, 0], batch[:, 1]))):
        scores = scores.clone()
        true = scores[torch.arange(len(batch)), batch[:, col]].clone()
        positive, _ = create_sparse_positive_filter_(batch, all_pos, filter_col=col)
        scores = filter_scores_(scores, positive)
        scores[torch.arange(len(batch)), batch[:, col]] = true
        evaluator.process_scores_(batch, target, scores, true_scores=true[:, None])
    return evaluator.finalize()


def _assert_same(ours, theirs):
    for side in ("head", "tail", "both"):
        for rank_type in ("optimistic", "realistic", "pessimistic"):
            m = ours.metrics(side, rank_type)
            for key, pk in KEYS:
                assert m[key] == pytest.approx(theirs.get_metric(f"{side}.{rank_type}.{pk}"), abs=1e-6), (side, rank_type, key)


def test_equal_to_pykeen_on_random_scores_with_many_ties():
    kg = load_kg("nations")
    g = torch.Generator().manual_seed(0)
    table_t = torch.randint(0, 4, (kg.n_entities, kg.n_relations, kg.n_entities), generator=g).float()  # ties galore
    table_h = torch.randint(0, 4, (kg.n_relations, kg.n_entities, kg.n_entities), generator=g).float()

    def score_t(h, r):
        return table_t[h, r]

    def score_h(r, t):
        return table_h[r, t]

    ours = evaluate(score_t, score_h, kg.test, known_triples_mask(kg.all_triples(), kg.n_entities, kg.n_relations))
    _assert_same(ours, _pykeen_on_scores(kg, score_t, score_h))


def test_equal_to_pykeen_evaluating_a_pykeen_transe_with_our_weights():
    from pykeen.datasets import Nations
    from pykeen.evaluation import RankBasedEvaluator
    from pykeen.models import TransE as PyKEENTransE

    ds = Nations()
    kg = load_kg("nations")
    torch.manual_seed(0)
    ours = TransE(kg.n_entities, kg.n_relations, 16, p=1)
    theirs = PyKEENTransE(triples_factory=ds.training, embedding_dim=16, scoring_fct_norm=1)
    with torch.no_grad():
        theirs.entity_representations[0]._embeddings.weight.copy_(ours.entity.weight)
        theirs.relation_representations[0]._embeddings.weight.copy_(ours.relation.weight)
    result = RankBasedEvaluator().evaluate(theirs, ds.testing.mapped_triples, batch_size=64, use_tqdm=False,
                                          additional_filter_triples=[ds.training.mapped_triples, ds.validation.mapped_triples])
    _assert_same(evaluate_model(ours, kg.test, known_triples_mask(kg.all_triples(), kg.n_entities, kg.n_relations)), result)


def test_constant_scores_give_the_middle_rank_not_the_first():
    scores = torch.zeros(2, 5)
    r = ranks_from_scores(scores, torch.tensor([0, 3]), None)
    assert r["optimistic"].tolist() == [1, 1]
    assert r["pessimistic"].tolist() == [5, 5]
    assert r["realistic"].tolist() == [3, 3]


def test_filter_removes_other_known_answers_but_never_the_true_one():
    scores = torch.tensor([[5.0, 4.0, 3.0, 2.0]])
    mask = torch.tensor([[True, True, True, False]])          # entities 0-2 are known answers
    r = ranks_from_scores(scores, torch.tensor([2]), mask)
    assert r["realistic"].item() == 1.0                       # 0 and 1 filtered, 2 itself kept
    assert ranks_from_scores(scores, torch.tensor([2]), None)["realistic"].item() == 3.0


def test_known_mask_marks_every_triple():
    t = np.array([[0, 1, 2], [2, 0, 1]])
    m = known_triples_mask(t, 3, 2)
    assert m.sum() == 2 and m[1, 0, 2] and m[0, 2, 1]


def test_chance_metrics_equal_pykeen_expectations_and_a_random_scorer():
    """Candidate counts vs a per-triple loop over the known facts; expected MRR / Hits@k vs pykeen's closed forms;
    the adjusted index vs pykeen's AdjustedHitsAtK; and a random scorer's realistic metrics land on chance."""
    from pykeen.metrics.ranking import AdjustedHitsAtK, HitsAtK, InverseHarmonicMeanRank

    from modelbook.kge import adjusted, candidate_counts, chance_metrics

    kg = load_kg("nations")
    known = known_triples_mask(kg.all_triples(), kg.n_entities, kg.n_relations)
    facts = {tuple(x) for x in kg.all_triples().tolist()}
    heads = [1 + sum((e, r, t) not in facts for e in range(kg.n_entities)) for h, r, t in kg.test.tolist()]
    tails = [1 + sum((h, r, e) not in facts for e in range(kg.n_entities)) for h, r, t in kg.test.tolist()]
    n = candidate_counts(kg.test, known, kg.n_entities)
    assert n.tolist() == heads + tails
    chance = chance_metrics(n)
    assert chance["mrr"] == pytest.approx(InverseHarmonicMeanRank().expected_value(num_candidates=n), abs=1e-12)
    for k in (1, 3, 10):
        assert chance[f"hits@{k}"] == pytest.approx(HitsAtK(k=k).expected_value(num_candidates=n), abs=1e-12)
    ranks = np.random.default_rng(0).integers(1, n + 1)              # any ranks within the candidate counts
    assert adjusted(float(np.mean(ranks <= 10)), chance["hits@10"]) == pytest.approx(
        AdjustedHitsAtK(k=10)(ranks=ranks, num_candidates=n), abs=1e-9)
    g = torch.Generator().manual_seed(0)
    draws = [evaluate(lambda h, r: torch.rand(len(h), kg.n_entities, generator=g),
                      lambda r, t: torch.rand(len(r), kg.n_entities, generator=g), kg.test, known).metrics() for _ in range(50)]
    assert np.mean([d["hits@10"] for d in draws]) == pytest.approx(chance["hits@10"], abs=0.005)
    assert np.mean([d["mrr"] for d in draws]) == pytest.approx(chance["mrr"], abs=0.01)
