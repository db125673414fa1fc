"""PyKEEN's bundled KGs read as files: the same sizes and the same ids as PyKEEN's TriplesFactory."""
import numpy as np
import pytest

from modelbook.core.errors import ModelbookError
from modelbook.data.kg import load_kg

SIZES = {"nations": (14, 55, 1592, 199, 201), "kinships": (104, 25, 8544, 1068, 1074), "umls": (135, 46, 5216, 652, 661)}


@pytest.mark.parametrize("name", list(SIZES))
def test_sizes(name):
    kg = load_kg(name)
    assert (kg.n_entities, kg.n_relations, len(kg.train), len(kg.valid), len(kg.test)) == SIZES[name]
    assert kg.train.dtype == np.int64 and kg.all_triples().shape == (sum(SIZES[name][2:]), 3)


def test_ids_equal_pykeen_triples_factory():
    from pykeen.datasets import Nations

    ds = Nations()
    kg = load_kg("nations")
    assert list(kg.entities) == sorted(ds.training.entity_to_id, key=ds.training.entity_to_id.get)
    assert list(kg.relations) == sorted(ds.training.relation_to_id, key=ds.training.relation_to_id.get)
    mine = {tuple(t) for t in kg.test.tolist()}
    theirs = {tuple(t) for t in ds.testing.mapped_triples.tolist()}
    assert mine == theirs


def test_unknown_name_is_a_one_line_error():
    with pytest.raises(ModelbookError, match="unknown knowledge graph"):
        load_kg("fb15k237")
