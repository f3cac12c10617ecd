"""Reading data: file formats with row-level errors, the split containers, split files and the bundled tweets.

Which columns hold the labels and what a label is belongs to the task (:mod:`lstmtext.tasks`).
"""

from lstmtext.data.bundled import load_bundled_airline
from lstmtext.data.dataset import LabelledData, Split
from lstmtext.data.io import read_table

__all__ = ["LabelledData", "Split", "load_bundled_airline", "read_table"]
