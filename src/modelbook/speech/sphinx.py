"""The classical pipeline as a baseline: CMU PocketSphinx (HMM acoustic model of US-English triphones with
Gaussian-mixture outputs, a pronouncing dictionary, and a language model or grammar) from the `pocketsphinx`
wheel. A JSGF grammar restricts the search to what may be said: here any sequence of digits, or a command.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from modelbook.core.errors import missing_package
from modelbook.speech import corpus


def grammar(kind: str) -> str:
    digits = " | ".join(corpus.DIGITS["en"])
    if kind == "digits":
        return f"#JSGF V1.0; grammar g; public <s> = ( {digits} )+ ;"
    verbs, dirs = " | ".join(corpus.VERBS), " | ".join(corpus.DIRECTIONS)
    return f"#JSGF V1.0; grammar g; public <s> = ( ( {verbs} ) ( {dirs} ) ) | ( {' | '.join(corpus.SINGLES)} ) ;"


def transcribe(audio: Sequence[np.ndarray], kind: str = "digits", sample_rate: int = 16000) -> list[str]:
    """PocketSphinx's best hypothesis for each clip, searching the grammar of `kind` ("digits" or "command")."""
    try:
        from pocketsphinx import Decoder
    except ImportError:
        raise missing_package("pocketsphinx") from None
    dec = Decoder(samprate=sample_rate, loglevel="FATAL")
    dec.add_jsgf_string("g", grammar(kind))
    dec.activate_search("g")
    out = []
    for x in audio:
        dec.start_utt()
        dec.process_raw((np.clip(x, -1, 1) * 32767).astype(np.int16).tobytes(), full_utt=True)
        dec.end_utt()
        hyp = dec.hyp()
        out.append(hyp.hypstr if hyp is not None else "")
    return out
