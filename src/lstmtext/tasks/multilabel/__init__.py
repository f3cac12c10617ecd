"""Multi-label classification: any number of labels per text (see docs/multilabel.md).

:mod:`~lstmtext.tasks.multilabel.data` reads the delimited and 0/1-column layouts,
:mod:`~lstmtext.tasks.multilabel.report` renders the scores and :mod:`~lstmtext.tasks.multilabel.task` is the
task plug-in.
"""
