"""Aspect-based sentiment analysis: one shared text encoder, one softmax head per aspect (see docs/absa.md).

:mod:`~lstmtext.tasks.absa.data` reads the wide and long layouts, :mod:`~lstmtext.tasks.absa.metrics` scores
(IndoNLU's flattened macro-F1 and the mean over aspects), :mod:`~lstmtext.tasks.absa.report` renders them and
:mod:`~lstmtext.tasks.absa.task` is the task plug-in.
"""
