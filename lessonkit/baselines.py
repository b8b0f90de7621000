"""Classic, framework-free baselines to put beside the neural models (scikit-learn).

A transformer's accuracy means little alone: these say what word counts already achieve.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def tfidf_logistic_regression(
    texts: Sequence[str],
    labels: Sequence[int],
    ngram_range: tuple[int, int] = (1, 2),
    C: float = 10.0,
    min_df: int = 2,
    seed: int = 0,
):
    """Fit TF-IDF features (word 1- and 2-grams, lowercased) + logistic regression (SAGA solver:
    seconds, where the default L-BFGS takes ten times longer on 50,000 sparse features).

    Returns the fitted scikit-learn pipeline: ``.predict(texts)`` gives label indices,
    ``.predict_proba(texts)`` class probabilities. ``C`` is the inverse regularization strength.
    """
    try:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
    except ImportError as error:  # pragma: no cover - scikit-learn is in the "reference" extra
        raise ImportError(
            "the TF-IDF baseline needs scikit-learn: pip install scikit-learn"
        ) from error
    if len(texts) != len(labels) or len(texts) == 0:
        raise ValueError(
            f"need as many labels as texts (and at least one); got {len(texts)} and {len(labels)}"
        )
    pipeline = make_pipeline(
        TfidfVectorizer(ngram_range=ngram_range, min_df=min_df, sublinear_tf=True),
        LogisticRegression(C=C, solver="saga", max_iter=2000, random_state=seed),
    )
    return pipeline.fit(list(texts), np.asarray(labels))


def accuracy(predictions: Sequence[int], labels: Sequence[int]) -> float:
    """Share of predictions equal to the labels."""
    predictions, labels = np.asarray(predictions), np.asarray(labels)
    if predictions.shape != labels.shape or predictions.size == 0:
        raise ValueError(
            f"predictions {predictions.shape} and labels {labels.shape} must match and be non-empty"
        )
    return float((predictions == labels).mean())
