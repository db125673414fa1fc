"""MinHash + LSH from scratch against datasketch (same permutations, same bands), and the exact parts."""
import itertools

import numpy as np
import pytest

from modelbook.corpus.dedup import (
    all_pairs_above,
    connected_groups,
    edited_copies,
    estimated_jaccard,
    exact_duplicate_groups,
    jaccard,
    lsh_candidates,
    minhash,
    normalize,
    optimal_bands,
    s_curve,
    shingles,
)

DOCS = ["质量还不错，内容只适合边上厕所便消遣了", "质量还不错，内容只适合在厕所消遣了！", "The quick brown fox jumps over the lazy dog",
        "the quick brown fox jumped over the lazy dog", "完全不同的一句话", "a", "", "京东的东西质量还是比较放心的，没有多大问题"]


def test_signatures_equal_datasketch():
    from datasketch import MinHash

    sets = [shingles(d, 3) for d in DOCS]
    ours = minhash(sets, num_perm=64, seed=7)
    for s, row in zip(sets, ours):
        ref = MinHash(num_perm=64, seed=7)
        for x in s:
            ref.update(x.encode("utf-8"))
        np.testing.assert_array_equal(row, ref.hashvalues)
    assert ours.dtype == np.uint32


def test_lsh_candidates_equal_datasketch():
    from datasketch import MinHash, MinHashLSH

    rng = np.random.default_rng(0)
    base = ["".join(rng.choice(list("abcdefghij"), 40)) for _ in range(30)]
    docs = base + [d[:35] + "zzzzz" for d in base[:10]] + [d[5:] for d in base[10:15]]
    sets = [shingles(d, 3) for d in docs]
    sig = minhash(sets, 128)
    b, r = optimal_bands(0.6, 128)
    ours = lsh_candidates(sig, b, r)
    lsh = MinHashLSH(num_perm=128, params=(b, r))
    hashes = []
    for i, s in enumerate(sets):
        m = MinHash(num_perm=128)
        m.update_batch([x.encode() for x in s])
        lsh.insert(i, m)
        hashes.append(m)
    ref = sorted({(min(i, j), max(i, j)) for i, m in enumerate(hashes) for j in lsh.query(m) if i != j})
    assert ours == ref and len(ours) >= 15


@pytest.mark.parametrize("threshold", [0.5, 0.8])
def test_optimal_bands_equal_datasketch(threshold):
    from datasketch.lsh import _optimal_param

    assert optimal_bands(threshold, 128) == _optimal_param(threshold, 128, 0.5, 0.5)


def test_estimates_are_unbiased_and_exact_parts_are_exact():
    a, b = set(range(0, 600)), set(range(200, 800))            # J = 400 / 800 = 0.5
    as_text = lambda s: {str(x) for x in s}                      # noqa: E731
    sig = minhash([as_text(a), as_text(b)], 512)
    est = estimated_jaccard(sig[0], sig[1])
    assert jaccard(a, b) == 0.5 and abs(est - 0.5) < 3 * np.sqrt(0.25 / 512)
    assert normalize("  Ａ  b\tC ") == "a b c"                   # NFKC folds the full-width A
    groups = exact_duplicate_groups(["x", "X ", "y", "x", "z", "y"])
    assert groups.tolist() == [0, 0, 2, 0, 4, 2]
    assert connected_groups(6, [(4, 5), (0, 2), (2, 5)]).tolist() == [0, 1, 0, 3, 0, 0]
    assert s_curve(1.0, 9, 13) == 1.0 and s_curve(0.0, 9, 13) == 0.0
    assert shingles("ab", 3) == {"ab"}


@pytest.mark.parametrize("threshold", [0.2, 0.5, 0.8])
def test_all_pairs_above_equals_brute_force_over_all_pairs(threshold):
    rng = np.random.default_rng(1)
    base = ["".join(rng.choice(list("abcdefgh"), 30)) for _ in range(25)]
    docs = DOCS + base + [d[:25] + "xyz" for d in base[:8]] + [d[3:] for d in base[8:14]] + ["ab", "ab"]
    sets = [shingles(d, 3) for d in docs]
    pairs, js = all_pairs_above(sets, threshold)
    brute = {(i, j): jaccard(sets[i], sets[j]) for i, j in itertools.combinations(range(len(sets)), 2)}
    want = {p: v for p, v in brute.items() if v >= threshold}
    assert dict(zip(pairs, js.tolist())) == want  # the same pairs and bit-identical Jaccards (one int / int division)
    assert len(pairs) == len(want) >= 8  # near-duplicates at every threshold, not an empty comparison


def test_edited_copies_are_labelled_near_duplicates_of_their_sources():
    docs = ["".join(np.random.default_rng(i).choice(list("abcdefghijklmnopqrstuvwxyz"), 400)) for i in range(5)]
    copies, pairs = edited_copies(docs, 200, np.random.default_rng(0), max_share=0.25)
    assert [j for _, j in pairs] == list(range(5, 205)) and {s for s, _ in pairs} == set(range(5))
    changed = []
    for copy, (src, _) in zip(copies, pairs):
        source = docs[src]
        assert len(copy) == len(source) and set(copy) <= set(source)
        changed.append(np.mean([a != b for a, b in zip(copy, source)]))
    # q ~ U(0, 0.25) of the positions are overwritten, by a character that differs from the old one 25 times in 26
    assert np.mean(changed) == pytest.approx(0.125 * 25 / 26, abs=0.02) and max(changed) <= 0.25 + 0.07
    again, _ = edited_copies(docs, 200, np.random.default_rng(0), max_share=0.25)
    untouched, sources = edited_copies(docs, 20, np.random.default_rng(0), max_share=0.0)
    assert again == copies and untouched == [docs[s] for s, _ in sources]


def test_quality_flags():
    from modelbook.corpus.filters import quality_flags

    assert quality_flags("质量还不错，内容只适合边上厕所便消遣了") == []
    assert quality_flags("不错") == ["too_short"]
    assert quality_flags("？？？？？？？？") == ["repetitive", "few_letters"]
    assert quality_flags("好好好好好好好好好好好好啊") == ["repetitive"]
    assert quality_flags("!!!... :-) ☆☆ ok") == ["few_letters"]
