"""Aspect-based sentiment analysis: one shared text encoder, one softmax head per aspect.

Data in the wide layout (a text column plus one label column per aspect) or the long layout (text, aspect,
polarity rows) becomes :class:`~lstmtext.tasks.absa.data.AspectData`; :func:`~lstmtext.tasks.absa.runner.run_absa`
trains, scores and saves; :class:`~lstmtext.tasks.absa.predict.AspectPredictor` predicts every aspect of a text.
See docs/absa.md.
"""

from lstmtext.tasks.absa.data import AspectData, AspectSplit, load_aspect_data

__all__ = ["AspectData", "AspectSplit", "load_aspect_data"]
