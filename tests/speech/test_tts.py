import shutil
import wave

import pytest

from modelbook.core.errors import ModelbookError
from modelbook.speech.tts import synthesize


def test_synthesize_writes_a_wav_in_place_and_leaves_no_temp_file(tmp_path):
    path = tmp_path / "hello.wav"
    speech = synthesize("Hello there, reader.", path)
    with wave.open(str(path), "rb") as w:
        assert w.getframerate() == speech.sample_rate and w.getnframes() / w.getframerate() == speech.seconds
    assert speech.seconds > 0.5 and speech.words == 3
    assert [p.name for p in tmp_path.iterdir()] == ["hello.wav"]


def test_a_failed_synthesis_keeps_the_old_file_and_no_temp_file(tmp_path, monkeypatch):
    from modelbook.speech import tts

    path = tmp_path / "hello.wav"
    path.write_bytes(b"the previous recording")
    monkeypatch.setattr(tts, "_espeak", lambda: shutil.which("false"))  # a synthesiser that exits 1
    with pytest.raises(ModelbookError, match="espeak-ng failed"):
        synthesize("Hello.", path)
    assert path.read_bytes() == b"the previous recording"
    assert [p.name for p in tmp_path.iterdir()] == ["hello.wav"]
