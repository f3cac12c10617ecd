"""A small ONNX graph builder: nodes and initializers with unique names, shared constants and masks.

The layer writers (:mod:`.layers`) and the model writers (:mod:`.models`) append nodes through
:class:`Graph`; :meth:`Graph.model` prunes what the outputs do not need and returns the checked model.
Every tensor name is unique, so the same writer can run for several models in one graph (ensemble members,
a multi-head model's base) under different weight prefixes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from lstmtext import __version__

OPSET = 17
INPUTS = ("ids", "lengths")
INT64_MAX = np.iinfo(np.int64).max


class Graph:
    """The nodes and initializers of one graph under construction (inputs ``ids (B, T)``, ``lengths (B,)``)."""

    def __init__(self) -> None:
        self.nodes: list[Any] = []
        self.inits: list[Any] = []
        self._names: set[str] = set(INPUTS)
        self._consts: dict[tuple, str] = {}
        self._cache: dict[str, Any] = {}

    def fresh(self, base: str) -> str:
        """A tensor name not used yet: ``base``, else ``base_1``, ``base_2``, ..."""
        name, i = base, 0
        while name in self._names:
            i += 1
            name = f"{base}_{i}"
        self._names.add(name)
        return name

    def add(self, op: str, inputs: list[str], name: str | None = None, outputs: int = 1, **attrs: Any) -> Any:
        """Append one node; return its output name (a list of names when ``outputs > 1``)."""
        base = name or op.lower()
        outs = [self.fresh(base if outputs == 1 else f"{base}.{i}") for i in range(outputs)]
        self.nodes.append(helper.make_node(op, inputs, outs, name=self.fresh(f"node.{outs[0]}"), **attrs))
        return outs[0] if outputs == 1 else outs

    def weight(self, name: str, value: Any) -> str:
        """A float32 initializer (a tensor or array) named ``name`` (made unique)."""
        array = value.detach().cpu().float().numpy() if hasattr(value, "detach") else np.asarray(value, np.float32)
        name = self.fresh(name)
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def const(self, value: Any, dtype: Any = np.int64) -> str:
        """A constant initializer, shared by every node that uses the same value."""
        array = np.asarray(value, dtype=dtype)
        key = (array.dtype.str, array.shape, array.tobytes())
        if key not in self._consts:
            name = self.fresh(f"const.{array.dtype.name}")
            self.inits.append(numpy_helper.from_array(array, name))
            self._consts[key] = name
        return self._consts[key]

    def once(self, key: str, make: Callable[[], Any]) -> Any:
        """What ``make()`` returns, computed once per graph (masks and lengths every layer shares)."""
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def rename(self, old: str, new: str) -> str:
        """Give the tensor ``old`` the name ``new`` (a graph output's name) everywhere it appears."""
        if new in self._names:
            raise ValueError(f"tensor name {new!r} is taken")
        self._names.add(new)
        for node in self.nodes:
            for seq in (node.input, node.output):
                for i, value in enumerate(seq):
                    if value == old:
                        seq[i] = new
        return new

    def model(self, outputs: dict[str, int], metadata: dict[str, str], name: str = "lstmtext_classifier"
              ) -> onnx.ModelProto:
        """The checked model with float outputs ``{name: columns}`` of shape ``(batch, columns)``."""
        nodes, inits = _prune(self.nodes, self.inits, list(outputs))
        graph = helper.make_graph(
            nodes, name,
            [helper.make_tensor_value_info("ids", TensorProto.INT64, ["batch", "time"]),
             helper.make_tensor_value_info("lengths", TensorProto.INT64, ["batch"])],
            [helper.make_tensor_value_info(k, TensorProto.FLOAT, ["batch", n]) for k, n in outputs.items()],
            initializer=inits,
        )
        proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="lstmtext",
                                  producer_version=__version__)
        proto.ir_version = min(proto.ir_version, 8)  # readable by older runtimes too
        helper.set_model_props(proto, metadata)
        onnx.checker.check_model(proto)
        return proto


def _prune(nodes: list[Any], inits: list[Any], outputs: list[str]) -> tuple[list[Any], list[Any]]:
    """Keep only the nodes and initializers the outputs depend on (e.g. ``last`` pooling needs no ``Y``)."""
    needed, kept = set(outputs), []
    for node in reversed(nodes):
        if needed.intersection(node.output):
            kept.append(node)
            needed.update(node.input)
    return kept[::-1], [t for t in inits if t.name in needed]
