"""What every lab shares. Nothing here imports torch at import time."""
from modelbook.core.errors import ModelbookError
from modelbook.core.result import Check, LabResult, Metric

__all__ = ["Check", "LabResult", "Metric", "ModelbookError"]
