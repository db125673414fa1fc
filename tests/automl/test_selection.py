"""automl/selection.py against scikit-learn: nested CV = GridSearchCV in cross_val_score on the same folds, F statistics
= f_regression / f_classif, soft voting = VotingClassifier, stacking = StackingClassifier (multi-class too)."""
import numpy as np
import pytest

from modelbook.automl.selection import (
    Stacking,
    ensemble_bases,
    f_statistic,
    family_configs,
    family_scores,
    feature_scores,
    soft_vote,
)
from modelbook.evaluation.cv import kfold, nested_cv


@pytest.mark.full  # tests/evaluation/test_cv.py checks nested_cv = GridSearchCV on every run; this is the families' version
def test_nested_cv_over_families_equals_gridsearch_in_cross_val_score():
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import GridSearchCV, cross_val_score
    from sklearn.pipeline import Pipeline

    x, y = load_breast_cancer(return_X_y=True)
    x, y = x[::3], y[::3]
    configs = family_configs()[::3]  # logistic, kNN, tree, naive Bayes: one of each family, quick
    ours, _ = nested_cv(family_scores(x, y, configs), len(y), 3, 3, np.random.default_rng(5), y)
    # replay the same folds: nested_cv draws the outer folds, then each inner split, from one generator
    rng = np.random.default_rng(5)
    outer = kfold(len(y), 3, rng, y)
    theirs = []
    for train, test in outer:
        inner = kfold(len(train), 3, rng, y[train])
        search = GridSearchCV(Pipeline([("m", configs[0][1]())]), {"m": [make() for _, make in configs]}, cv=inner)
        theirs.append(cross_val_score(search, x, y, cv=[(train, test)])[0])
    np.testing.assert_allclose(ours, theirs, atol=1e-12)


def test_f_statistics_equal_sklearn():
    from sklearn.feature_selection import f_classif, f_regression

    rng = np.random.default_rng(0)
    x = rng.normal(size=(80, 6))
    yr = x[:, 0] + rng.normal(size=80)
    yc = (x[:, 1] > 0).astype(int) + (x[:, 2] > 1)
    np.testing.assert_allclose(f_statistic(x, yr), f_regression(x, yr)[0], rtol=1e-10)
    np.testing.assert_allclose(f_statistic(x, yc, classification=True), f_classif(x, yc)[0], rtol=1e-10)


def test_feature_scores_raw_equals_sklearn_ridge_r2():
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import Ridge

    x, y = load_diabetes(return_X_y=True, scaled=False)
    train, test = np.arange(300), np.arange(300, len(y))
    s = feature_scores(x, y, (5, 65), alpha=1.0)(train, test)
    z = (x - x.mean(0)) / x.std(0)
    assert s[0] == pytest.approx(Ridge(1.0).fit(z[train], y[train]).score(z[test], y[test]), rel=1e-9)
    assert s.shape == (3,)


def test_voting_and_stacking_equal_sklearn_multiclass():
    """Three classes (the lab checks the binary case, one column per base, on every run)."""
    from sklearn import datasets
    from sklearn.ensemble import StackingClassifier, VotingClassifier
    from sklearn.linear_model import LogisticRegression

    x, y = datasets.load_wine(return_X_y=True)
    rng = np.random.default_rng(1)
    train, test = kfold(len(y), 4, rng, y)[0]
    bases = ensemble_bases()
    models = [m().fit(x[train], y[train]) for _, m in bases]
    vote = VotingClassifier([(n, m()) for n, m in bases], voting="soft").fit(x[train], y[train])
    np.testing.assert_allclose(soft_vote(models, x[test]), vote.predict_proba(x[test]), atol=1e-12)
    inner = kfold(len(train), 3, rng, y[train])
    ours = Stacking([m for _, m in bases], lambda: LogisticRegression(C=10.0, max_iter=2000), inner).fit(x[train], y[train])
    sk = StackingClassifier([(n, m()) for n, m in bases], final_estimator=LogisticRegression(C=10.0, max_iter=2000),
                            cv=inner, stack_method="predict_proba").fit(x[train], y[train])
    np.testing.assert_allclose(ours.predict_proba(x[test]), sk.predict_proba(x[test]), atol=1e-9)
    np.testing.assert_array_equal(ours.predict(x[test]), sk.predict(x[test]))


def test_stacking_on_in_sample_predictions_differs():
    """Bite: fitting the meta model on in-sample base predictions (no out-of-fold) is not what sklearn does."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.ensemble import StackingClassifier
    from sklearn.linear_model import LogisticRegression

    x, y = load_breast_cancer(return_X_y=True)
    x, y = x[::2], y[::2]
    train, test = kfold(len(y), 4, np.random.default_rng(2), y)[0]
    bases = ensemble_bases()
    leaky = Stacking([m for _, m in bases], LogisticRegression, [(np.arange(len(train)), np.arange(len(train)))])
    leaky.fit(x[train], y[train])
    inner = kfold(len(train), 3, np.random.default_rng(3), y[train])
    sk = StackingClassifier([(n, m()) for n, m in bases], final_estimator=LogisticRegression(), cv=inner,
                            stack_method="predict_proba").fit(x[train], y[train])
    assert np.max(np.abs(leaky.predict_proba(x[test]) - sk.predict_proba(x[test]))) > 1e-3
