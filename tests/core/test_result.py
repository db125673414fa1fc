import math

import pytest

from modelbook.core.result import Check, LabResult


@pytest.mark.parametrize(
    "kind, measured, reference, tol, relative, passed",
    [
        ("close", 1.05, 1.0, 0.1, False, True),
        ("close", 1.2, 1.0, 0.1, False, False),
        ("close", 1.05, 1.0, 0.1, True, True),
        ("close", 0.8, 1.0, 0.1, True, False),
        ("at_least", 0.95, 0.9, 0.0, False, True),
        ("at_least", 0.85, 0.9, 0.0, False, False),
        ("at_least", 0.85, 0.9, 0.05, False, True),
        ("at_most", 1e-6, 0.0, 1e-5, False, True),
        ("at_most", 1e-4, 0.0, 1e-5, False, False),
        ("close", math.nan, 0.0, 1.0, False, False),
    ],
)
def test_check_pass_rules(kind, measured, reference, tol, relative, passed):
    assert Check("c", measured, reference=reference, tolerance=tol, source="src", kind=kind, relative=relative).passed is passed


def test_check_requires_source_and_known_kind():
    with pytest.raises(ValueError):
        Check("c", 1, reference=1, tolerance=0, source="")
    with pytest.raises(ValueError):
        Check("c", 1, reference=1, tolerance=0, source="src", kind="roughly")


def test_result_round_trips_through_json():
    r = LabResult("demo")
    r.metric("a/b", 1.5, "s", volatile=True)
    r.check("x", 0.91, reference=0.9, tolerance=0.02, source="paper", kind="at_least")
    r.note("a note")
    r.env["seed"] = 3
    back = LabResult.from_dict(__import__("json").loads(r.to_json()))
    assert back.metrics == r.metrics and back.checks == r.checks and back.notes == r.notes
    assert back.passed and back.value("a/b") == 1.5
    with pytest.raises(KeyError):
        back.value("missing")


def test_check_arguments_after_measured_are_keywords():
    r = LabResult("demo")
    with pytest.raises(TypeError):
        r.check("x", 0.91, 0.9, 0.02, "paper")  # which number is the reference? the call must say
    with pytest.raises(TypeError):
        Check("c", 1, 1, 0, "src")
