"""The README is the map: its layout names every package and top-level module, and its lab table lists exactly
the registered labs."""
import re
from pathlib import Path

from modelbook.labs import LABS

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf8")
SRC = ROOT / "src" / "modelbook"


def _section(title: str) -> str:
    start = README.index(f"## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start:end if end > 0 else None]


def test_layout_names_every_package_and_module():
    layout = _section("Layout")
    named = set(re.findall(r"^\s+([\w./, ]+?)\s{2,}", layout, flags=re.M))
    entries = {e.strip() for line in named for e in line.split(",")}
    packages = {p.name + "/" for p in SRC.iterdir() if p.is_dir() and (p / "__init__.py").is_file()}
    modules = {p.name for p in SRC.glob("*.py") if p.name not in ("__init__.py", "__main__.py")}
    assert packages | modules <= entries, f"not in the README layout: {sorted((packages | modules) - entries)}"
    stale = {e for e in entries if e.endswith(("/", ".py")) and e not in packages | modules and e != "src/modelbook/"}
    assert not stale, f"the README layout names what does not exist: {sorted(stale)}"


def test_lab_table_lists_exactly_the_registered_labs():
    table = _section("Labs so far")
    rows = re.findall(r"^\| `([\w-]+)` \|", table, flags=re.M)
    assert len(rows) == len(set(rows)), "a lab is listed twice"
    assert set(rows) == {spec.name for spec in LABS}
