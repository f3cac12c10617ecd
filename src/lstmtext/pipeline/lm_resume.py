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


def lm_stage_state(config: Config, train_texts: Sequence[str], start: LMBundle | None) -> dict[str, Any]:
    """What the language-model stage of a run depends on: ``{"settings": the keys it reads, "inputs": [[what,
    digest], ...]}`` (the training texts, the ``--unlabelled`` file, the ``--pretrained`` language model)."""
    texts = hashlib.sha256()
    for text in train_texts:
        texts.update(text.encode("utf-8", "surrogatepass") + b"\x00")
    now = {k: v for k, v in flatten(config.model_dump(mode="json")).items() if k.startswith(_LM_STAGE_KEYS)}
    unlabelled, start_path = config.data.unlabelled, start.path if start is not None else None
    inputs = {"the training texts": texts.hexdigest()[:16],
              f"the --unlabelled file {unlabelled}": file_identity(unlabelled) if unlabelled else None,
              f"the language model {start_path}": read_lm_meta(start_path).get("weights_sha256")
              if start_path is not None else None}
    return json.loads(json.dumps({"settings": now, "inputs": [[k, v] for k, v in inputs.items()]}))


def check_lm_stage(work: Path, config: Config, train_texts: Sequence[str], start: LMBundle | None,
                   resume: bool) -> None:
    """Keep the settings the language-model stage reads and digests of its inputs in ``work/run.json`` when the
    stage starts; on ``resume``, refuse other ones in one line naming the first, as ``pretrain --resume`` does (the
    stage had gone on with another ``lm.lr``, or on the corpus of an earlier ``--unlabelled`` file)."""
    now = lm_stage_state(config, train_texts, start)
    state = work / "run.json"
    if not (resume and state.is_file()):
        if not resume or not (work / "checkpoint").exists():  # a stage begun before run.json was kept: as before
            work.mkdir(parents=True, exist_ok=True)
            state.write_text(json.dumps({"settings": now["settings"], "inputs": [v for _, v in now["inputs"]]}),
                             encoding="utf-8")
        return
    saved = read_work_json(state)
    _refuse_changes(work, "language-model stage", now, saved.get("settings", {}), saved.get("inputs", []))


def check_finished_lm_stage(saved: Path, lm: LMBundle, now: dict[str, Any]) -> None:
    """Refuse to resume a run on the language model its stage saved in ``saved`` (``OUT/lm``) when the stage's
    settings or inputs (``now``: :func:`lm_stage_state`) differ from those it was trained with: a resumed run had
    gone on with the old model and then failed on another ``--pretrained`` one's vocabulary, blaming the data. A
    model saved by an older lstmtext, without them, is read as before."""
    stage = lm.info.get("stage")
    if isinstance(stage, dict):
        _refuse_changes(saved, "finished language-model stage", now, stage.get("settings", {}),
                        [v for _, v in stage.get("inputs", [])])


def _refuse_changes(where: Path, what: str, now: dict[str, Any], settings: dict[str, Any], inputs: list[Any]) -> None:
    """One line naming the first setting or input of ``now`` that differs from the saved ``settings`` and ``inputs``."""
    changed = [k for k in now["settings"] if now["settings"][k] != settings.get(k, now["settings"][k])]
    if changed:
        raise changed_settings(where, what, changed, now["settings"], settings)
    for (name, value), was in zip(now["inputs"], inputs):
        if value != was:
            raise BundleError(f"{where}: --resume continues a {what} that read {name} as it was then, and it has "
                              "changed (or is another one). Resume with the same inputs, or start again with "
                              "--overwrite.")
