"""WordNet noun graph from Debian's wordnet-base: counts (DATA.md), cache, features."""
import numpy as np
import pytest

from modelbook.data.wordnet import NOUN_CLASSES, SPLIT_FRACTIONS, hashed_bag_of_words, wordnet_nouns


@pytest.fixture(scope="module")
def graph():
    return wordnet_nouns()


def test_counts_match_the_verified_parse(graph):
    assert graph.n_nodes == 82_115
    assert len(graph.edges) == 106_614
    assert len(np.unique(graph.labels)) == 26 == len(NOUN_CLASSES)


def test_names_glosses_and_edges(graph):
    i = int(np.searchsorted(graph.offsets, 2084071))  # dog, domestic dog
    assert graph.name(i) == "dog" and "domesticated" in graph.gloss(i)
    assert NOUN_CLASSES[graph.labels[i]] == "noun.animal"
    hypernyms = graph.edges[(graph.edges[:, 0] == i) & (graph.edges[:, 1] == 0), 2]
    assert {graph.name(int(h)) for h in hypernyms} == {"canine", "domestic_animal"}


def test_split_is_fixed_and_has_the_stated_fractions(graph):
    shares = np.bincount(graph.split, minlength=3) / graph.n_nodes
    np.testing.assert_allclose(shares, SPLIT_FRACTIONS, atol=1e-4)
    assert np.array_equal(wordnet_nouns().split, graph.split)  # second load comes from the cache, same split


def test_hashed_bag_of_words_is_deterministic_and_normalised():
    x = hashed_bag_of_words(["a dog barks", "a dog barks", "quantum chromodynamics", ""], 64)
    np.testing.assert_allclose(np.linalg.norm(x[:3], axis=1), 1.0, rtol=1e-6)
    assert np.array_equal(x[0], x[1]) and not np.array_equal(x[0], x[2])
    assert not x[3].any()


def test_hashed_gloss_lookup_equals_hashing_the_glosses_at_once(graph):
    from modelbook.data.wordnet import hashed_gloss_lookup

    lookup = hashed_gloss_lookup(graph, 64)
    first, second = np.array([5, 17, 40_000]), np.array([17, 3, 5, 81_000])   # the second asks for two cached nodes
    for nodes in (first, second, second[::-1]):
        np.testing.assert_array_equal(lookup(nodes), hashed_bag_of_words(graph.glosses(nodes.tolist()), 64))
