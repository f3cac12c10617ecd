"""Reading labelled data: file formats, checks with row-level errors, and train/valid/test splits."""

from lstmtext.data.dataset import LabelledData, Split, load_bundled_airline, load_data, read_labelled
from lstmtext.data.io import read_table

__all__ = ["LabelledData", "Split", "load_bundled_airline", "load_data", "read_labelled", "read_table"]
