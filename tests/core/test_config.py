from dataclasses import dataclass
from typing import Literal, Optional

import pytest

from modelbook.core.config import apply_overrides
from modelbook.core.errors import ModelbookError


@dataclass(frozen=True)
class Cfg:
    n: int = 3
    lr: float = 0.1
    flag: bool = False
    name: str = "a"
    lengths: tuple[int, ...] = (1, 2)
    mode: Literal["x", "y"] = "x"
    limit: Optional[int] = None
    seed: int = 0


def test_typed_overrides_make_a_new_frozen_config():
    cfg = Cfg()
    new = apply_overrides(cfg, ["n=5", "lr=1e-3", "flag=yes", "name=b", "lengths=4,8,16", "mode=y", "limit=none"])
    assert new == Cfg(n=5, lr=1e-3, flag=True, name="b", lengths=(4, 8, 16), mode="y", limit=None)
    assert cfg == Cfg()  # unchanged
    assert apply_overrides(cfg, ["limit=7"]).limit == 7


@pytest.mark.parametrize(
    "item, message",
    [
        ("n=abc", "--set n: 'abc' is not a valid int"),
        ("lenghts=1", "unknown config key 'lenghts'. Did you mean: lengths?"),
        ("mode=z", "--set mode: 'z' is not one of x, y"),
        ("flag=maybe", "--set flag: 'maybe' is not a valid bool"),
        ("novalue", "--set expects key=value, got 'novalue'"),
    ],
)
def test_bad_overrides_are_one_line_errors(item, message):
    with pytest.raises(ModelbookError) as e:
        apply_overrides(Cfg(), [item])
    assert str(e.value).startswith(message)
    assert "\n" not in str(e.value)
