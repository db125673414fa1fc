"""PII detection: checksums against published examples, detectors on hard cases, and precision/recall on the
labelled test set (the thresholds the lab also checks)."""
import importlib.util
from pathlib import Path

import pytest

from modelbook.privacy import pii


def test_gb11643_check_character_on_the_standard_example():
    # the example number printed in GB 11643-1999 and most descriptions of it: check character X
    assert pii.gb11643_check_char("11010519491231002") == "X"
    assert pii.valid_cn_id("11010519491231002X") and pii.valid_cn_id("11010519491231002x")
    assert not pii.valid_cn_id("110105194912310021")   # wrong check character
    assert not pii.valid_cn_id("99010519491231002X")   # no province 99
    assert not pii.valid_cn_id("110105194902300024")   # 30 February


@pytest.mark.parametrize("number, ok", [("79927398713", True), ("4111 1111 1111 1111", True), ("4111-1111-1111-1112", False),
                                        ("6011000990139424", True), ("0", True), ("", False)])
def test_luhn(number, ok):
    assert pii.luhn_valid(number) is ok


@pytest.mark.parametrize("text, expected", [
    ("电话13812345678。", [("13812345678", "PHONE")]),
    ("call +86 138 1234 5678 now", [("+86 138 1234 5678", "PHONE")]),
    ("座机(010) 6275 1234", [("(010) 6275 1234", "PHONE")]),
    ("ring (415) 555-0132 today", [("(415) 555-0132", "PHONE")]),
    ("邮箱zhang.wei@example.com。", [("zhang.wei@example.com", "EMAIL")]),
    ("身份证11010519491231002X，", [("11010519491231002X", "ID_CN")]),
    ("订单号110105194912310021", []),                                # ID-shaped, wrong check character
    ("card 4111 1111 1111 1111 ok", [("4111 1111 1111 1111", "BANK_CARD")]),
    ("tracking 4111111111111112", []),                              # fails Luhn
    ("ISBN 978-7-111-54742-6, 2023年5月12日, ¥1999", []),
])
def test_detect_patterns(text, expected):
    spans = pii.detect(text, types=("PHONE", "EMAIL", "ID_CN", "BANK_CARD"))
    assert [(s.text(text), s.type) for s in spans] == expected


def test_regex_only_baseline_accepts_what_checksums_reject():
    text = "订单号110105194912310021 tracking 4111111111111112"
    assert [s.type for s in pii.detect(text, types=("ID_CN", "BANK_CARD"), validate=False)] == ["ID_CN", "BANK_CARD"]


def test_names_zh_and_en():
    text = "联系人：张伟，电话见附件。"
    assert [s.text(text) for s in pii.find_chinese_names(text)] == ["张伟"]
    text = "Dr. Oluwaseun Adeyemi met Sarah Johnson's brother"
    assert [s.text(text) for s in pii.detect(text, types=("PERSON",))] == ["Oluwaseun Adeyemi", "Sarah Johnson"]


def test_mask_styles():
    text = "张伟的手机13812345678"
    spans = pii.detect(text)
    assert pii.mask(text, spans) == "[PERSON]的手机[PHONE]"
    assert pii.mask(text, spans, style="partial") == "张*的手机138****5678"
    a = pii.mask(text, spans, style="pseudonym", key=b"k1")
    assert a == pii.mask(text, spans, style="pseudonym", key=b"k1") != pii.mask(text, spans, style="pseudonym", key=b"k2")
    assert "13812345678" not in a and a.startswith("PERSON_")
    with pytest.raises(ValueError):
        pii.mask(text, spans, style="pseudonym")


def test_parse_annotated():
    text, spans = pii.parse_annotated("call [[PHONE|138 1234 5678]] or [[EMAIL|a@b.cn]]")
    assert text == "call 138 1234 5678 or a@b.cn"
    assert [(s.text(text), s.type) for s in spans] == [("138 1234 5678", "PHONE"), ("a@b.cn", "EMAIL")]
    with pytest.raises(ValueError):
        pii.parse_annotated("[[SSN|123]]")


def test_testset_file_is_what_the_generator_writes(tmp_path, monkeypatch):
    script = Path(__file__).resolve().parents[2] / "scripts" / "make_pii_testset.py"
    spec = importlib.util.spec_from_file_location("make_pii_testset", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "OUT", tmp_path / "pii.txt")
    module.main()
    assert (tmp_path / "pii.txt").read_text(encoding="utf-8") == pii.TESTSET.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def scored():
    rows = pii.load_testset()
    gold = [g for _, _, g in rows]
    return rows, gold, [pii.detect(t) for _, t, _ in rows], [pii.detect(t, validate=False) for _, t, _ in rows]


def test_precision_recall_thresholds_on_the_labelled_set(scored):
    rows, gold, pred, regex = scored
    assert len(rows) == 125 and sum(len(g) for g in gold) >= 170
    pr, pr_regex = pii.precision_recall(gold, pred), pii.precision_recall(gold, regex)
    for t in ("PHONE", "EMAIL"):
        assert pr[t][0] >= 0.95 and pr[t][1] >= 0.95, (t, pr[t])
    for t in ("ID_CN", "BANK_CARD"):
        assert pr[t][0] >= 0.95 and pr[t][1] >= 0.75, (t, pr[t])
        assert pr_regex[t][1] == 1.0 and pr_regex[t][0] <= pr[t][0] - 0.1  # checksums buy precision
    zh = [i for i, r in enumerate(rows) if r[0] == "zh"]
    p, r, _ = pii.precision_recall([gold[i] for i in zh], [pred[i] for i in zh], ("PERSON",))["PERSON"]
    assert r >= 0.7 and p >= 0.7


def test_masking_leaks_little(scored):
    rows, gold, pred, _ = scored
    leaked = sum(pii.leaked_characters(t, g, p) for (_, t, g), p in zip(rows, pred))
    total = sum(s.end - s.start for g in gold for s in g)
    assert leaked / total < 0.12
