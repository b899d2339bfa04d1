"""``interview-guard eval``: measure the registered detectors on a labelled folder.

Modules: ``manifest`` (read any MANIFEST.tsv), ``metrics`` (ROC, AUC, EER, TPR at a fixed FPR,
bootstrap CIs, Spearman; numpy only), ``scoring`` (clip-level scores per detector, cached),
``report`` (tables, JSON, ROC plots), ``cli`` (the command). Nothing here imports Qt.
"""
