"""modelbook: the large-model engineering handbook you can run.

Importing the package imports nothing heavy: `modelbook list` and `show` must start fast. It does set
a few environment defaults, so that nothing ever downloads and optional kernels stay quiet.
"""
import os as _os

__version__ = "0.1.0"

for _k, _v in {
    "HF_HUB_OFFLINE": "1",  # models ship inside packages; never reach a hub
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "TRANSFORMERS_VERBOSITY": "error",
    "TOKENIZERS_PARALLELISM": "false",
    "TORCHAO_FORCE_SKIP_LOADING_SO_FILES": "1",  # CUDA-only kernels; they only print load failures on CPU
    "PYGAME_HIDE_SUPPORT_PROMPT": "1",
    "KINETO_LOG_LEVEL": "99",  # the torch profiler (used to measure memory) otherwise logs every start and stop
}.items():
    _os.environ.setdefault(_k, _v)

# Libraries that transformers imports on the way (torchao registering its enums with torch's pytree) log
# deprecation chatter a reader of `modelbook run` cannot act on. Logging is stdlib: this costs nothing at start.
import logging as _logging

for _name in ("torch.utils._pytree", "torchao"):
    _logging.getLogger(_name).setLevel(_logging.ERROR)
