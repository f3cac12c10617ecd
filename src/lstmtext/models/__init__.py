"""The architectures: a registry of names (:mod:`lstmtext.models.registry`), the built-in models, the shared
layers, multi-group heads, seed ensembles and the n-gram bag. Importing this package registers the built-ins.
"""

from lstmtext.models.heads import OutputLayout
from lstmtext.models.registry import (
    available_models,
    build_model,
    check_model,
    describe_model,
    ignored_settings,
    model_options,
    parameter_count,
    reads_both_ways,
    register_model,
)

# The built-in architectures register themselves on import.
from lstmtext.models import attention, clstm, cnn, recurrent  # noqa: E402,F401  isort: skip

__all__ = ["OutputLayout", "available_models", "build_model", "check_model", "describe_model", "ignored_settings",
           "model_options", "parameter_count", "reads_both_ways", "register_model"]
