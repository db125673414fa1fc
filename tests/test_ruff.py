"""The code passes ruff (pyflakes + import order, configured in pyproject.toml): no unused or undefined names."""
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_passes():
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    assert ruff, "ruff is a test extra: ./test.sh installs it"
    done = subprocess.run([ruff, "check", "--output-format", "concise", "--no-cache", "."], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
