"""What an interrupted language model may resume with: ``lstmtext pretrain --resume`` (its saved config and
work files) and the language-model stage of ``train --resume`` (the settings it reads and digests of its inputs,
kept in ``lm_work/run.json``). Anything else is refused in one line naming the first difference.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

from lstmtext.config import Config, build_config
from lstmtext.config.diff import flatten
from lstmtext.data.io import file_identity
from lstmtext.errors import BundleError
from lstmtext.training.checkpoint import changed_settings
from lstmtext.training.lm_bundle import LMBundle, read_lm_meta


def resumed_config(given: Config, saved: Config, state: Path, asked: Collection[str] = ()) -> Config:
    """The interrupted run's config, unless this command asks for other settings that differ from the saved run's:
    the keys in ``asked`` (what --set named, a key or a section), and any key set away from both the built-in
    defaults and the ``ulmfit`` preset (``lstmtext pretrain``'s own default), so that ``--resume`` need not repeat
    the first command's --set. Then a one-line refusal naming the first of them."""
    defaults = [flatten(build_config(p, extra={"task": given.task}).model_dump(mode="json")) for p in (None, "ulmfit")]
    now, before = flatten(given.model_dump(mode="json")), flatten(saved.model_dump(mode="json"))
    named = lambda k: any(k == a or k.startswith(a + ".") for a in asked)  # noqa: E731
    changed = [k for k, v in now.items() if v != before.get(k) and (named(k) or all(v != d.get(k) for d in defaults))]
    if changed:
        raise changed_settings(state.parent, "pretraining", changed, now, before)
    return saved


def read_work_json(path: Path) -> dict[str, Any]:
    """A JSON file of an interrupted pretraining's or language-model stage's folder, or one line saying that the
    work must start again."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError
        return data
    except (OSError, ValueError):  # missing, unreadable, not JSON (JSONDecodeError and UnicodeDecodeError too)
        raise BundleError(f"{path} is missing or corrupt: the interrupted work cannot be resumed. Start again "
                          "with --overwrite (without --resume).") from None


#: The settings the language-model stage of a run reads (flattened keys, or their prefixes): a resume may change
#: any other (the classifier's learning rate, its patience), since the classifier has not started yet.
_LM_STAGE_KEYS = ("lm.", "preprocess.", "vocab.", "model.name", "model.embedding_dim", "model.hidden_size",
                  "model.bidirectional", "train.pretrain", "train.pretrained", "train.precision")


def check_lm_stage(work: Path, config: Config, train_texts: Sequence[str], start: LMBundle | None,
                   resume: bool) -> None:
    """Keep the settings the language-model stage reads and digests of its inputs in ``work/run.json`` when the
    stage starts; on ``resume``, refuse other ones in one line naming the first, as ``pretrain --resume`` does (the
    stage had gone on with another ``lm.lr``, or on the corpus of an earlier ``--unlabelled`` file)."""
    texts = hashlib.sha256()
    for text in train_texts:
        texts.update(text.encode("utf-8", "surrogatepass") + b"\x00")
    now = {k: v for k, v in flatten(config.model_dump(mode="json")).items() if k.startswith(_LM_STAGE_KEYS)}
    unlabelled, start_path = config.data.unlabelled, start.path if start is not None else None
    inputs = {"the training texts": texts.hexdigest()[:16],
              f"the --unlabelled file {unlabelled}": file_identity(unlabelled) if unlabelled else None,
              f"the language model {start_path}": read_lm_meta(start_path).get("weights_sha256")
              if start_path is not None else None}
    state = work / "run.json"
    if not (resume and state.is_file()):
        if not resume or not (work / "checkpoint").exists():  # a stage begun before run.json was kept: as before
            work.mkdir(parents=True, exist_ok=True)
            state.write_text(json.dumps({"settings": now, "inputs": list(inputs.values())}), encoding="utf-8")
        return
    saved = read_work_json(state)
    before = saved.get("settings", {})
    changed = [k for k in now if now[k] != before.get(k, now[k])]
    if changed:
        raise changed_settings(work, "language-model stage", changed, now, before)
    for (what, value), was in zip(inputs.items(), saved.get("inputs", [])):
        if value != was:
            raise BundleError(f"{work}: --resume continues a language-model stage that read {what} as it was "
                              "then, and it has changed (or is another one). Resume with the same inputs, or start "
                              "again with --overwrite.")
