"""Building blocks for training-data quality: deduplication (dedup.py) and heuristic filters (filters.py)."""
