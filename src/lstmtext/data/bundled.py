"""The airline tweets that ship inside the package, with their canonical split (train 11,588 / valid 1,448 / test 1,449)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pandas as pd

from lstmtext.data.dataset import LabelledData, Split

#: The bundled file's columns, recorded in a model's config when it trains on them.
AIRLINE_COLUMNS = {"text_col": "text", "label_col": "airline_sentiment", "split_col": None}


def bundled_airline_path() -> Path:
    """Return the path of the bundled airline tweets (``Tweets.csv``, with ``split.csv`` beside it)."""
    return Path(str(resources.files("lstmtext.resources").joinpath("data/airline-tweets/Tweets.csv")))


def bundled_airline_frame() -> pd.DataFrame:
    """Every column of the bundled tweets with a ``split`` column, as the split was made: repeated ``tweet_id`` rows
    are dropped (first kept), then joined on ``tweet_id``; rows in file order."""
    path = bundled_airline_path()
    tweets = pd.read_csv(path, dtype={"tweet_id": str}, keep_default_na=False)
    split = pd.read_csv(path.with_name("split.csv"), dtype={"tweet_id": str})
    return tweets.drop_duplicates(subset="tweet_id", keep="first").merge(split, on="tweet_id", how="inner")


def load_bundled_airline() -> LabelledData:
    """Load the bundled airline tweets with their canonical split (:func:`bundled_airline_frame`)."""
    path = bundled_airline_path()
    tweets = bundled_airline_frame()
    parts = {
        name: Split(group["text"].tolist(), group["airline_sentiment"].tolist())
        for name, group in tweets.groupby("split", sort=False)
    }
    return LabelledData(splits={name: parts[name] for name in ("train", "valid", "test")},
                        source=f"{path} (canonical split)", info={"license": "cc-by-nc-sa-4.0"})
