"""Back-of-the-envelope training costs, written so they can be checked: FLOPs (flops.py) and memory (memory.py)."""
