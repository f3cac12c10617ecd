"""The typed configuration tree, its presets and its TOML form (see :mod:`lstmtext.config.schema`)."""

from lstmtext.config.schema import (
    AbsaConfig,
    Config,
    DataConfig,
    EmbeddingConfig,
    LMConfig,
    ModelConfig,
    MultiLabelConfig,
    PreprocessConfig,
    TrainConfig,
    VocabConfig,
    build_config,
    deep_merge,
    parse_override,
    with_defaults,
)

__all__ = [
    "AbsaConfig", "Config", "DataConfig", "EmbeddingConfig", "LMConfig", "ModelConfig", "MultiLabelConfig", "PreprocessConfig", "TrainConfig",
    "VocabConfig", "build_config", "deep_merge", "parse_override", "with_defaults",
]
