"""The torchrun launcher: a worker that fails is one line naming the workers' last error, not a traceback."""
import pytest

from modelbook.core.errors import ModelbookError
from modelbook.distributed.launch import _last_error, launch


def test_bad_worker_config_is_a_one_line_error(tmp_path):
    with pytest.raises(ModelbookError, match="torchrun exited with 1: .*missing.npz") as e:
        launch("modelbook.distributed.worker", {"data": str(tmp_path / "missing.npz"), "parts": ["ddp"], "seed": 0}, 2, tmp_path,
               timeout_s=300)
    assert "\n" not in str(e.value)


def test_last_error_is_the_last_line_naming_an_error():
    stderr = "W1207 warning\nTraceback (most recent call last):\n  File x\nFileNotFoundError: missing.npz\nexiting\n"
    assert _last_error(stderr) == "FileNotFoundError: missing.npz"
    assert _last_error("[rank1]: ValueError: bad shard\n[rank0]: ValueError: bad shard\nChildFailedError: \n") == \
        "[rank0]: ValueError: bad shard"
    assert _last_error("just noise\n") == "just noise"
    assert _last_error("") == "no output"
