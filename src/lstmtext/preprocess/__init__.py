"""Text cleaning: named ``str -> str`` steps, pipelines of them, and presets per language."""

from lstmtext.preprocess.pipeline import Pipeline
from lstmtext.preprocess.presets import PREPROCESS_PRESETS, build_pipeline, preprocess_preset
from lstmtext.preprocess.steps import available_steps, make_step, register_step

__all__ = ["Pipeline", "PREPROCESS_PRESETS", "build_pipeline", "preprocess_preset", "available_steps", "make_step", "register_step"]
