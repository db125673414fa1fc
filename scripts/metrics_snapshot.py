"""Record, or compare, every lab's non-volatile quick-preset metrics: the guard for refactors that must not move a number.

    .venv/bin/python scripts/metrics_snapshot.py record before.json [--seeds 0 1234567] [--labs a b ...]
    .venv/bin/python scripts/metrics_snapshot.py compare before.json after.json [--labs a b ...]

`record` runs each lab's quick preset once per seed (nothing stored) and writes {lab: {seed: {metric: value}}}.
`compare` prints every metric that differs (or appears on one side only) and exits 1 if any does; with --labs,
only those labs, their metrics pooled (a lab split in two compares as the union of the new labs' metrics).
Runs in a fresh MODELBOOK_HOME that borrows the user's model cache (as the tests do), so nothing stored is touched.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path


def record(path: Path, seeds: list[int], labs: list[str] | None) -> int:
    if "MODELBOOK_HOME" not in os.environ:
        home = Path(tempfile.mkdtemp(prefix="modelbook-snapshot-"))
        user_cache = Path.home() / ".local/share/modelbook/cache/models"
        if user_cache.is_dir():
            (home / "cache").mkdir()
            (home / "cache" / "models").symlink_to(user_cache, target_is_directory=True)
        os.environ["MODELBOOK_HOME"] = str(home)
    from modelbook.core import runner
    from modelbook.labs import LABS

    names = labs or [s.name for s in LABS]
    snapshot: dict = json.loads(path.read_text()) if path.exists() else {}
    for name in names:
        for seed in seeds:
            t0 = time.perf_counter()
            result, _ = runner.run(name, preset="quick", seed=seed, keep=False)
            snapshot.setdefault(name, {})[str(seed)] = {m.name: m.value for m in result.metrics if not m.volatile}
            print(f"{name:16s} seed {seed:<8d} {len(snapshot[name][str(seed)]):4d} metrics  "
                  f"{time.perf_counter() - t0:6.1f} s  {'pass' if result.passed else 'FAIL'}", flush=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(snapshot, indent=1, sort_keys=True))
            os.replace(tmp, path)
    return 0


def _pooled(snapshot: dict, labs: list[str]) -> dict:
    """{"+".join(labs): {seed: {metric: value}}}: the named labs' metrics as one."""
    pooled: dict = {}
    for lab in labs:
        for seed, metrics in snapshot.get(lab, {}).items():
            pooled.setdefault(seed, {}).update(metrics)
    return {"+".join(labs): pooled}


def compare(a_path: Path, b_path: Path, labs: list[str] | None = None) -> int:
    a, b = json.loads(a_path.read_text()), json.loads(b_path.read_text())
    if labs:
        a, b = _pooled(a, labs), _pooled(b, labs)
    differ = n = 0
    for lab in sorted(set(a) | set(b)):
        for seed in sorted(set(a.get(lab, {})) | set(b.get(lab, {}))):
            ma, mb = a.get(lab, {}).get(seed, {}), b.get(lab, {}).get(seed, {})
            for key in sorted(set(ma) | set(mb)):
                n += 1
                va, vb = ma.get(key), mb.get(key)
                same = va is not None and vb is not None and (
                    va == vb or (math.isnan(va) and math.isnan(vb)) or math.isclose(va, vb, rel_tol=1e-9, abs_tol=1e-12))
                if not same:
                    differ += 1
                    print(f"{lab} seed {seed} {key}: {va} -> {vb}")
    print(f"{n - differ} of {n} metrics identical; {differ} differ")
    return 1 if differ else 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    rec = sub.add_parser("record")
    rec.add_argument("out", type=Path)
    rec.add_argument("--seeds", type=int, nargs="+", default=[0, 1234567])
    rec.add_argument("--labs", nargs="+")
    cmp_ = sub.add_parser("compare")
    cmp_.add_argument("before", type=Path)
    cmp_.add_argument("after", type=Path)
    cmp_.add_argument("--labs", nargs="+")
    args = parser.parse_args(argv)
    if args.cmd == "record":
        return record(args.out, args.seeds, args.labs)
    return compare(args.before, args.after, args.labs)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
