import pytest

from modelbook.core import registry
from modelbook.core.errors import ModelbookError
from modelbook.labs import LABS


def test_lookup_by_name_and_topic():
    assert registry.get("metrics").module == "modelbook.labs.metrics"
    assert registry.get("Attention").name == "attention"
    assert [s.name for s in registry.resolve("33")] == ["attention"]
    assert registry.resolve("metrics") == (registry.get("metrics"),)


def test_unknown_names_suggest_the_closest():
    with pytest.raises(ModelbookError, match=r"unknown lab 'atention'. Did you mean: attention\b"):  # then 'generation'
        registry.get("atention")
    with pytest.raises(ModelbookError, match="unknown topic 49: topics are numbered 1 to 48"):
        registry.resolve("49")


def test_names_are_unique_kebab_case_and_topics_in_range():
    names = [s.name for s in LABS]
    assert len(names) == len(set(names))
    for spec in LABS:
        assert spec.name == spec.name.lower() and "_" not in spec.name
        assert spec.topics and all(1 <= t <= 48 for t in spec.topics)  # 41-48: beyond the source
        assert spec.title


def test_describe_reads_the_config_without_importing_the_lab():
    """describe() parses the source; the imported Config and PRESETS must say the same."""
    import dataclasses
    import sys

    spec = registry.get("metrics")
    sys.modules.pop(spec.module, None)
    doc, fields, presets = registry.describe(spec)
    assert spec.module not in sys.modules
    lab = registry.load("metrics")
    assert doc == lab.__doc__.strip()
    assert [name for name, _, _ in fields] == [f.name for f in dataclasses.fields(lab.Config)]
    defaults = {f.name: f.default for f in dataclasses.fields(lab.Config)}
    assert all(eval(default) == defaults[name] for name, default, _ in fields)  # nosec B307 # our own source
    assert set(presets) == set(lab.PRESETS)
    for name, overrides in presets.items():
        assert {k: eval(v) for k, v in overrides.items()} == {  # nosec B307
            k: getattr(lab.PRESETS[name], k) for k in overrides}
