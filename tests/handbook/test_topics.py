"""The question bank: 40 topics from the source and 8 beyond it (41–48), complete entries where written, and quoted
numbers that exist. tests/handbook/test_beyond.py covers what is particular to 41–48."""
import pytest

from modelbook.handbook import SECTIONS, all_topics, get_topic
from modelbook.handbook.loader import catalogue, fill_values, value_names
from modelbook.labs import LABS

COMPLETE = [t.id for t in all_topics() if t.status != "draft" and not t.alias_of]


def test_topics_numbered_1_to_48_with_titles_in_both_languages():
    topics = all_topics()
    ids = [t.id for t in topics]
    assert ids[:40] == list(range(1, 41)) and all(41 <= n <= 48 for n in ids[40:])  # 41-48: as they are written
    assert [t.id for t in catalogue()] == list(range(1, 49))  # the rest planned
    for t in catalogue():
        assert t.title["en"].strip() and t.title["zh"].strip()
        assert any("\u4e00" <= ch <= "\u9fff" for ch in t.title["zh"])


def test_23_resolves_to_2():
    assert get_topic(23).id == 2 and get_topic(23, resolve_alias=False).alias_of == 2


@pytest.mark.parametrize("n", [4, 33])
def test_model_entries_are_complete(n):
    assert n in COMPLETE


@pytest.mark.parametrize("n", COMPLETE)
def test_complete_entries_have_every_section_substantive_in_both_languages(n):
    t = get_topic(n)
    assert t.is_complete
    # the same minimums for 41-48, whose `source` section is "Common wrong answers"
    minimum = {"question": 40, "answer": 500, "deeper": 800, "source": 250, "followups": 800, "pitfalls": 250, "labs": 40}
    for lang in ("en", "zh"):
        for key, _, _ in SECTIONS:
            body = t.sections[lang][key]
            # Chinese carries more per character: count a CJK character as 3
            size = sum(3 if "\u4e00" <= ch <= "\u9fff" else 1 for ch in body)
            assert size >= minimum[key], f"topic {n} {lang} {key}: {size} < {minimum[key]}"
        followups = t.sections[lang]["followups"]
        marker = "**Q:" if lang == "en" else "**问："
        assert followups.count(marker) >= 3, f"topic {n} {lang}: fewer than 3 follow-up questions"
    for lab in t.labs:  # every registered lab of the topic is presented in its Labs section
        assert f"modelbook run {lab}" in t.sections["en"]["labs"], f"topic {n}: Labs section does not present {lab}"


@pytest.mark.parametrize("n", COMPLETE)
def test_quoted_measurements_exist_in_the_labs_results(n, quick_result):
    t = get_topic(n)
    names = {spec.name for spec in LABS}
    for lang in ("en", "zh"):
        for lab, metric in value_names(t.markdown(lang)):
            assert lab in names, f"topic {n} quotes unknown lab {lab}"
            result, _ = quick_result(lab)
            result.value(metric)  # KeyError if the lab does not measure it
        text = fill_values(t.markdown(lang), lambda lab, metric: quick_result(lab)[0].value(metric))
        assert "{{" not in text and "not measured yet" not in text


def test_unmeasured_values_say_how_to_measure_them():
    assert fill_values("AUC {{metrics:x|.2f}}", lambda lab, m: None) == "AUC [not measured yet: modelbook run metrics]"
    assert fill_values("AUC {{metrics:x|.2f}}", lambda lab, m: 0.9123) == "AUC 0.91"


def test_labs_not_built_yet_are_labelled_planned():
    text = fill_values("- `modelbook run metrics`: built. - `modelbook run no-such-lab`: not yet.", lambda lab, m: None)
    assert "`modelbook run metrics`: built" in text
    assert "`modelbook run no-such-lab` (planned, not built yet)" in text
    assert fill_values("`modelbook run no-such-lab`：尚无", lambda lab, m: None).startswith("`modelbook run no-such-lab`（计划中")
