"""automl/pruning.py: the median rule makes Optuna's MedianPruner decisions; a broken rule is caught."""
import numpy as np
import optuna

from modelbook.automl.pruning import SoftmaxSGD, median_should_prune


def _compare(rule, seed=0, trials=20):
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    problem = SoftmaxSGD(seed, n_train=300, n_val=300, epochs=6)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed),
                                pruner=optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=1))
    counts = {"agree": 0, "disagree": 0, "pruned": 0}

    def objective(trial):
        def report(value, epoch):
            trial.report(value, epoch)
            theirs = trial.should_prune()
            done = [t.intermediate_values for t in study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))]
            ours = rule(study._storage.get_trial(trial._trial_id).intermediate_values, done, epoch, 3, 1)
            counts["agree" if ours == theirs else "disagree"] += 1
            counts["pruned"] += theirs
            return theirs

        value = problem.objective(trial, report)
        if trial.should_prune():
            raise optuna.TrialPruned()
        return value

    study.optimize(objective, n_trials=trials)
    return counts


def test_median_rule_equals_optuna():
    c = _compare(median_should_prune)
    assert c["disagree"] == 0 and c["pruned"] > 0 and c["agree"] > 50


def test_broken_rule_is_caught():
    def mean_rule(current, completed, step, n_startup, n_warmup):  # mean instead of median
        if len(completed) < n_startup or step < n_warmup:
            return False
        return min(current.values()) > np.mean([c[step] for c in completed if step in c])

    assert _compare(mean_rule)["disagree"] > 0


def test_softmax_sgd_learns_with_a_sane_rate():
    problem = SoftmaxSGD(0, n_train=300, n_val=300, epochs=5)
    trial = optuna.trial.FixedTrial({"lr": 0.1, "weight_decay": 1e-4, "momentum": 0.9})
    errs = []
    final = problem.objective(trial, lambda v, e: errs.append(v) or False)
    assert final < 0.15 and errs[-1] < errs[0] + 1e-9
