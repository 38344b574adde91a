"""Learning and judging the ranker: temporal splits, LightGBM training, calibration, baselines
(V100, RFG, logistic), top-k metrics with bootstrap intervals, the backtest, SHAP importance and
the MLflow registry. Imports only from :mod:`features`."""
