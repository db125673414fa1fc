"""Finance risk building blocks, from scratch (NumPy/SciPy):

    decision.py   cost-based thresholds: the Bayes threshold c_FP/(c_FP + c_FN), cost and profit curves
    scorecard.py  WoE/IV binning with monotone merging, points-to-double-odds scaling, KS and Gini
    risk.py       VaR and Expected Shortfall: historical simulation, normal, Student-t
    garch.py      GARCH(1,1) likelihood (arch's backcast) and its maximum-likelihood fit
    backtests.py  Kupiec's POF and Christoffersen's independence / conditional-coverage tests, Basel zones
    strategy.py   walk-forward fitting, strategy returns net of costs, Sharpe ratio, PSR and deflated Sharpe

Cross-checked in tests/finance against scikit-learn, scipy and the `arch` package on the same inputs.
"""
