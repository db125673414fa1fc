"""The `modelbook serve` example in README.md, run as written (in a temporary MODELBOOK_HOME, on a free port)."""
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def readme_block() -> str:
    text = (ROOT / "README.md").read_text()
    match = re.search(r"<!-- serve-example:.*?-->\n```bash\n(.*?)```", text, re.S)
    assert match, "README.md has no serve example block"
    return match.group(1)


@pytest.mark.timeout(900)
def test_readme_serve_example_works(tmp_path):
    assert shutil.which("curl"), "curl is missing: scripts/install.sh --test installs it"
    from modelbook.core.procs import child_env, free_port

    port = str(free_port())
    script = readme_block().replace("8000", port)
    env = child_env(threads=1)
    bin_dir = str(Path(os.sys.executable).parent)
    env.update(MODELBOOK_HOME=str(tmp_path / "home"), PATH=bin_dir + os.pathsep + env["PATH"], HF_HUB_OFFLINE="1")
    proc = subprocess.run(["bash", "-c", "set -e\ntrap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n" + script],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=850)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(("{", "modelbook_"))]  # not uvicorn's access log
    assert len(lines) >= 4, proc.stdout[-2000:]
    predict, embed, activate = (json.loads(ln) for ln in lines[:3])
    assert predict["model"] == "fashion" and predict["version"] == 1
    assert predict["predictions"][0]["class_name"] == "Ankle boot"
    assert embed["dimensions"] == 384 and len(embed["embeddings"][0]) == 384
    assert activate == {"model": "fashion", "previous": 1, "active": 2}
    assert any(re.match(r'modelbook_model_version\{model="fashion"\} 2\.0', ln) for ln in lines)
