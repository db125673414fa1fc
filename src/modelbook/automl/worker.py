"""A search worker: joins a study in a shared database and runs its share of trials.

    python -m modelbook.automl.worker --storage URL --study NAME --trials N --worker ID [--workers K] [--seed S]

The objective is the group-penalised ridge of modelbook.automl.search (cheap, real data). Each trial records
which worker ran it. With --workers K the worker first waits until K workers have joined (a barrier kept in the
study's own attributes), so that the workers' trials really run side by side.
"""
from __future__ import annotations

import argparse
import os
import sys
import time


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m modelbook.automl.worker", description=__doc__.splitlines()[0])
    ap.add_argument("--storage", required=True, help="SQLAlchemy URL: sqlite:///path.db or postgresql+psycopg://...")
    ap.add_argument("--study", required=True)
    ap.add_argument("--trials", type=int, required=True)
    ap.add_argument("--worker", type=int, default=0)
    ap.add_argument("--workers", type=int, default=1, help="wait until this many workers joined")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--barrier-timeout", type=float, default=60.0)
    args = ap.parse_args(argv)

    import optuna

    from modelbook.automl.distributed import storage
    from modelbook.automl.search import GroupRidgeCV

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    problem = GroupRidgeCV(args.seed)
    study = optuna.load_study(study_name=args.study, storage=storage(args.storage),
                              sampler=optuna.samplers.TPESampler(seed=(args.seed * 1000 + args.worker) % 2**32))
    study.set_user_attr(f"joined_{args.worker}", os.getpid())
    deadline = time.monotonic() + args.barrier_timeout
    while sum(k.startswith("joined_") for k in study.user_attrs) < args.workers:
        if time.monotonic() > deadline:
            print(f"worker {args.worker}: the other workers did not join within {args.barrier_timeout:g} s", file=sys.stderr)
            return 2
        time.sleep(0.05)

    def objective(trial):
        trial.set_user_attr("worker", args.worker)
        return problem.objective(trial)

    study.optimize(objective, n_trials=args.trials)
    return 0


if __name__ == "__main__":
    sys.exit(main())
