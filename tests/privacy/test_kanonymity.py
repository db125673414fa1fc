"""k-anonymity: lattice search and Mondrian reach k (counted independently with pandas); NCP and homogeneity."""
import numpy as np
import pandas as pd
import pytest

from modelbook.privacy import kanonymity as ka


@pytest.fixture(scope="module")
def table():
    rng = np.random.default_rng(0)
    n = 600
    df = pd.DataFrame({"age": rng.integers(18, 90, n), "sex": rng.choice(["f", "m"], n),
                       "race": rng.choice(["a", "b", "c", "d"], n, p=[0.7, 0.1, 0.1, 0.1]),
                       "sick": rng.choice(["yes", "no"], n, p=[0.2, 0.8])})
    qis = [ka.numeric_bands("age", df["age"].to_numpy(), (5, 10, 20)), ka.categorical("sex", df["sex"]),
           ka.categorical("race", df["race"], ({"a": "a", "b": "other", "c": "other", "d": "other"},))]
    return df, qis


def _published(df, qis, levels):
    return df.assign(**{q.name: np.array(q.labels[l], dtype=object)[q.codes[l]] for q, l in zip(qis, levels)})


def test_penalties():
    q = ka.numeric_bands("age", np.array([0, 4, 10, 20]), (5,))
    assert q.n_levels == 3
    np.testing.assert_allclose(q.penalty[0], 0)
    np.testing.assert_allclose(q.penalty[1], [4 / 20, 4 / 20, 4 / 20, 0.0])  # the last band is clipped to the max
    np.testing.assert_allclose(q.penalty[2], 1)
    c = ka.categorical("race", ["a", "b", "c", "d"], ({"a": "a", "b": "o", "c": "o", "d": "o"},))
    np.testing.assert_allclose(c.penalty[1], [0, 2 / 3, 2 / 3, 2 / 3])


@pytest.mark.parametrize("k", [2, 5, 10])
def test_full_domain_release_is_k_anonymous(table, k):
    df, qis = table
    release, n_ok = ka.full_domain_search(qis, k, max_suppression=0.02)
    pub = _published(df, qis, release.levels)[release.class_id >= 0]
    assert pub.groupby([q.name for q in qis]).size().min() >= k == k and release.k >= k
    assert release.suppressed <= int(0.02 * len(df)) and 0 <= release.ncp <= 1 and n_ok >= 1
    top = ka.evaluate_node(qis, tuple(q.n_levels - 1 for q in qis), k, 0)  # everything generalised to '*'
    assert top.ncp == 1.0 and release.ncp <= top.ncp


def test_raw_table_and_sizes(table):
    df, qis = table
    raw = ka.evaluate_node(qis, (0, 0, 0), 1, 0)
    expected = df.groupby(["age", "sex", "race"]).size()
    np.testing.assert_array_equal(np.sort(ka.class_sizes(raw.class_id)), np.sort(expected.to_numpy()))
    assert raw.ncp == 0.0 and raw.discernibility == float((expected.to_numpy() ** 2).sum())


@pytest.mark.parametrize("k", [3, 10, 40])
def test_mondrian_partitions_reach_k_and_lose_less(table, k):
    df, qis = table
    codes = np.stack([q.codes[0] for q in qis], axis=1)
    part, ncp = ka.mondrian(codes, k, categorical_cols=(1, 2))
    assert np.bincount(part).min() >= k
    release, _ = ka.full_domain_search(qis, k, 0.0)
    assert ncp <= release.ncp


def test_homogeneity():
    ids = np.array([0, 0, 0, 1, 1, 1, -1])
    sens = np.array(["no", "no", "no", "yes", "no", "no", "yes"])
    frac, l = ka.homogeneous_fraction(ids, sens)
    assert frac == 0.5 and l == 1


def test_acs12_loader():
    from modelbook.data.census import acs12

    df, card = acs12()
    assert df.shape == (2000, 13) and card.n == 2000
    assert {"age", "gender", "race", "married", "edu", "birth_qrtr", "disability"} <= set(df.columns)
