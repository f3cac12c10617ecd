"""The Python API: scikit-learn estimators over :func:`lstmtext.pipeline.run` and the :class:`Predictor`.

``TextClassifier`` (one label per text), ``MultiLabelTextClassifier`` (any number of labels; ``y`` is a 0/1
indicator matrix or a list of label lists) and ``AspectClassifier`` (one label per aspect; ``y`` is a 2-D
array, one column per aspect) are real scikit-learn estimators: their hyperparameters are explicit
``__init__`` arguments (plus one ``overrides`` dict of dotted config keys), so ``get_params``/``set_params``/
``clone``, ``cross_val_score``, ``GridSearchCV``, ``Pipeline`` and ``CalibratedClassifierCV(FrozenEstimator(clf))``
work. ``X`` is a sequence of strings (a list, a 1-D array, a pandas Series, or one column of a 2-D array).

Example:
    >>> clf = TextClassifier("default", epochs=3).fit(texts, labels)
    >>> clf.predict(["what a lovely flight"])
"""

from lstmtext.classifier.absa import AspectClassifier
from lstmtext.classifier.base import EstimatorNotFitted
from lstmtext.classifier.classify import TextClassifier
from lstmtext.classifier.multilabel import MultiLabelTextClassifier

__all__ = ["AspectClassifier", "EstimatorNotFitted", "MultiLabelTextClassifier", "TextClassifier"]
