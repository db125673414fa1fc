"""core.measure.memory_marks: the running total of live tensor bytes, read at named moments, equals the bytes we allocated."""
import torch

from modelbook.core.measure import mark, memory_marks, peak_memory_bytes


def test_marks_read_the_live_bytes_and_the_peak_matches_peak_memory_bytes():
    kept = []

    def fn():
        a = torch.ones(1000)                 # 4,000 bytes
        mark("a")
        b = torch.ones(500, dtype=torch.bfloat16)   # + 1,000
        mark("a+b")
        c = a.clone()                        # + 4,000: the peak, 9,000
        del a, c
        mark("b")
        kept.append(b)
        mark("b")                            # a name marked twice keeps its last moment

    peak, marks = memory_marks(fn)
    assert marks == {"a": 4000, "a+b": 5000, "b": 1000}
    assert peak == 9000 == peak_memory_bytes(fn)
