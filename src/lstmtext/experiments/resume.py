"""What lets an interrupted experiment go on: each finished run saved as it comes, under the command's settings.

``learning-curve`` saves its runs to ``OUT/learning_curve.json``, ``cv`` its folds to ``OUT/cv.json`` and
``audit`` its folds' probabilities to ``OUT/audit.json``, each file ``{"spec": ..., "<key>": [records]}`` until
the command writes its whole report there. The spec holds what the records depend on: the config, the data's
contents (not only the file's name), the unlabelled file's contents and the command's own settings. The same
command again reuses the records; a command with another spec is refused (its records would mix with these);
``overwrite`` starts afresh.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lstmtext.config import Config
from lstmtext.data import LabelledData
from lstmtext.data.dataset import fingerprint
from lstmtext.errors import ConfigError
from lstmtext.training.lm_bundle import lm_identity
from lstmtext.utils.atomic import file_sha256, write_json


def without_threads(dumped: dict[str, Any]) -> dict[str, Any]:
    """A dumped config less ``train.threads``, which an experiment sets per run (``--mode``, ``--workers``): a run
    saved in one mode is the same run in another."""
    return {**dumped, "train": {k: v for k, v in dumped.get("train", {}).items() if k != "threads"}}


def run_spec(config: Config, data: LabelledData, **settings: Any) -> dict[str, Any]:
    """The settings an experiment's saved records depend on: the config (less ``train.threads``, which the
    experiment sets per run), a hash of the data's texts and labels, its split sizes, the unlabelled file's hash,
    the language model's (:func:`~lstmtext.training.lm_bundle.lm_identity`) and the command's own ``settings``. Not the data's path as typed: ``./d.csv`` and ``d.csv`` had been refused as
    another experiment."""
    spec = {"config": without_threads(config.model_dump(mode="json")), "data": fingerprint(data.splits),
            "split_sizes": {k: len(v) for k, v in data.splits.items()}, **settings}
    if config.data.unlabelled and Path(config.data.unlabelled).is_file():  # its content, not only its path: an
        spec["unlabelled"] = file_sha256(config.data.unlabelled)  # edited file had reused the old file's runs
    if config.train.pretrained:  # so too a language model pretrained again at the same path
        spec["pretrained"] = lm_identity(config.train.pretrained)
    return json.loads(json.dumps(spec))  # as it reads back from the file (tuples as lists)


def saved_records(path: Path | None, spec: dict[str, Any], key: str, what: str, overwrite: bool
                  ) -> list[dict[str, Any]]:
    """The records saved at ``path`` under ``key`` for this ``spec`` (none when there is no file, or with
    ``overwrite``: a fresh start, whatever the saved records' settings); ``what`` names them in errors.

    Raises:
        ConfigError: If the file is damaged or holds records of another spec, and ``overwrite`` is not set.
    """
    if path is not None and overwrite:  # --overwrite of the same settings had reused every record; and the file
        path.unlink(missing_ok=True)  # goes now: a run stopped before its first record would have found it again
    if path is None or not path.exists():
        return []
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(saved, dict) or not isinstance(saved.get(key, []), list):
            raise ValueError("not what lstmtext writes there")
    except (OSError, ValueError) as exc:  # a damaged file ended the command in a traceback, --overwrite too
        raise ConfigError(f"{path}: cannot read the saved {what} ({exc}). Give another --out, or pass --overwrite to "
                          "replace it.") from None
    if saved.get("spec") == spec:
        return list(saved.get(key, []))
    raise ConfigError(f"{path}: this folder holds another {what} (other config, settings or data contents, or one "
                      f"saved by an older lstmtext; {len(saved.get(key, []))} {key}). Give another --out, or pass "
                      "--overwrite to replace it.")


def save_records(path: Path | None, spec: dict[str, Any], key: str, records: list[dict[str, Any]]) -> None:
    """Write ``records`` under ``key`` with their ``spec`` to ``path``, atomically (nothing when ``path`` is None)."""
    if path is not None:
        write_json(path, {"spec": spec, key: records})
