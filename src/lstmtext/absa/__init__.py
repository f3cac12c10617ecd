"""Aspect-based sentiment analysis: one shared text encoder, one softmax head per aspect.

Data in the wide layout (a text column plus one label column per aspect) or the long layout (text, aspect,
polarity rows) becomes :class:`~lstmtext.absa.data.AspectData`; :func:`~lstmtext.absa.runner.run_absa`
trains, scores and saves; :class:`~lstmtext.absa.predict.AspectPredictor` predicts every aspect of a text.
See docs/absa.md.
"""

from lstmtext.absa.data import AspectData, AspectSplit, load_aspect_data

__all__ = ["AspectData", "AspectSplit", "load_aspect_data"]
