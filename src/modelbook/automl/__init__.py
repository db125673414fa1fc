"""AutoML building blocks (topic 29): hyper-parameter search, pruning, model selection, features, ensembles.

    search.py       a real, cheap search problem (group-penalised ridge on the diabetes data, 3-fold CV), Optuna
                    studies with TPE / random / grid samplers, best-so-far curves, paired statistics over seeds
    pruning.py      the median stopping rule written out (= Optuna's MedianPruner), and an iterative objective
                    (softmax regression trained by minibatch SGD on the digits) that reports every epoch
    selection.py    model families scored for nested CV (modelbook.evaluation.cv), automated feature construction
                    (squares, products) and selection (ANOVA / regression F statistics), soft voting and stacking
    distributed.py  one study in an RDB (SQLite under $MODELBOOK_HOME, or a PostgreSQL URL) shared by worker processes
    worker.py       the worker: python -m modelbook.automl.worker --storage URL --study NAME --trials N --worker ID
    pg.py           a throw-away PostgreSQL server on a unix socket (tests)

Optuna is the library for the search itself (DESIGN.md: the right tool for real work); what is written here is
the objective, the statistics, the stopping rule and the ensembling, each cross-checked against the library
that does the same job (tests/automl).
"""
