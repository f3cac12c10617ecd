"""Shared fixtures: the tiny data set, a fast config, and one trained bundle per session."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)

from helpers import TINY, TINY_OVERRIDES  # noqa: E402


@pytest.fixture(scope="session")
def tiny_path() -> Path:
    return TINY


@pytest.fixture(scope="session")
def tiny_frame(tiny_path: Path) -> pd.DataFrame:
    return pd.read_csv(tiny_path)


@pytest.fixture
def tiny_config():
    from lstmtext.config import build_config

    return build_config(None, overrides=TINY_OVERRIDES)


@pytest.fixture(scope="session")
def trained_run(tiny_path: Path, tmp_path_factory: pytest.TempPathFactory):
    """One small trained run folder (model/ + reports), shared by read-only tests."""
    from lstmtext.config import build_config
    from lstmtext.pipeline import run

    out = tmp_path_factory.mktemp("run") / "tiny"
    result = run(build_config(None, overrides=TINY_OVERRIDES), tiny_path, out, progress=False)
    return out, result
