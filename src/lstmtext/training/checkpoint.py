"""Pickle-free training checkpoints: model, best weights, optimizer state and RNG state as safetensors + JSON.

A checkpoint folder is written atomically, so resuming never reads a half-written epoch.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from lstmtext.config import with_defaults
from lstmtext.config.diff import flatten
from lstmtext.errors import BundleError
from lstmtext.utils.atomic import atomic_dir, recover_dir


def optimizer_tensors(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Split an optimizer's state dict into tensors and JSON-ready metadata."""
    sd = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    meta: dict[str, Any] = {"param_groups": sd["param_groups"], "state": {}}
    for pid, state in sd["state"].items():
        meta["state"][str(pid)] = {}
        for key, value in state.items():
            if torch.is_tensor(value):
                tensors[f"{pid}.{key}"] = value.detach().contiguous().clone()
            else:
                meta["state"][str(pid)][key] = value
    return tensors, meta


def load_optimizer(optimizer: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
    """Restore what :func:`optimizer_tensors` split."""
    state: dict[int, dict[str, Any]] = {int(pid): dict(values) for pid, values in meta["state"].items()}
    for name, tensor in tensors.items():
        pid, key = name.split(".", 1)
        state.setdefault(int(pid), {})[key] = tensor
    optimizer.load_state_dict({"state": state, "param_groups": meta["param_groups"]})


def save_checkpoint(
    folder: Path,
    model_state: dict[str, torch.Tensor],
    best_state: dict[str, torch.Tensor] | None,
    optimizer: torch.optim.Optimizer,
    trainer_state: dict[str, Any],
    rank_rng: list[torch.Tensor] | None = None,
) -> None:
    """Write one checkpoint folder atomically (replacing the previous one); ``rank_rng``: every rank's RNG state
    in a distributed run, each restored to its own rank."""
    opt_tensors, opt_meta = optimizer_tensors(optimizer)
    with atomic_dir(folder, overwrite=True) as tmp:
        save_file({k: v.contiguous() for k, v in model_state.items()}, tmp / "last.safetensors")
        if best_state is not None:
            save_file({k: v.contiguous() for k, v in best_state.items()}, tmp / "best.safetensors")
        save_file(opt_tensors or {"_empty": torch.zeros(0)}, tmp / "optimizer.safetensors")
        ranks = {f"torch_rank{r}": state for r, state in enumerate(rank_rng or [])}
        save_file({"torch": torch.get_rng_state(), **ranks}, tmp / "rng.safetensors")
        (tmp / "state.json").write_text(json.dumps({**trainer_state, "optimizer": opt_meta}, indent=1))


def restore_checkpoint(folder: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer, rank: int = 0,
                       settings: dict[str, Any] | None = None) -> tuple[dict[str, Any], dict[str, torch.Tensor] | None]:
    """Put the last epoch's weights, optimizer state and RNG state of ``folder`` back; return the trainer's
    state (epoch, history, ...) and the best weights so far, for the loop to continue exactly where it stopped.

    Raises:
        BundleError: If the folder is missing or incomplete.
    """
    ckpt = load_checkpoint(folder)
    check_resumed_settings(folder, ckpt["trainer_state"].get("settings"), settings)  # before shapes: names the key
    try:
        model.load_state_dict(ckpt["model"])
    except RuntimeError as exc:  # another architecture, size or vocabulary than the run that wrote it
        first = next((line.strip() for line in str(exc).splitlines() if "size mismatch" in line or "Missing" in line
                      or "Unexpected" in line), str(exc).splitlines()[0])
        raise BundleError(f"{folder}: this checkpoint is from a run with another model or data ({first.rstrip('.')}). "
                          "Resume with the same command, config and data, or start again with --overwrite.") from None
    load_optimizer(optimizer, ckpt["optimizer"], ckpt["trainer_state"]["optimizer"])
    torch.set_rng_state(ckpt["rng"].get(f"torch_rank{rank}", ckpt["rng"]["torch"]))
    return ckpt["trainer_state"], ckpt["best"]


#: Settings a resumed run may change: they do not change what it trains. ``train.epochs`` too, where the learning
#: rate does not follow a schedule over all epochs (``train.schedule = "constant"``): more epochs continue the run.
RESUMABLE_CHANGES = ("train.threads", "train.eval_batch_size", "train.calibrate", "train.calibrate_min_texts")


def check_resumed_settings(folder: Path, saved: dict[str, Any] | None, given: dict[str, Any] | None) -> None:
    """Refuse, in one line naming the first such key, to resume with other settings than the checkpoint's run.

    A checkpoint written before settings were kept (``saved`` None) is resumed as before.
    """
    if saved is None or given is None:
        return
    before, now = flatten(with_defaults(saved)), flatten(given)
    if "streamed" in now and before.setdefault("streamed", now["streamed"]) != now["streamed"]:  # (older: not kept)
        raise _other_mode(folder, before["streamed"])
    digest = now.pop("data_digest", None)
    free = RESUMABLE_CHANGES + (("train.epochs",) if before.get("train.schedule") == "constant" else ())
    changed = [k for k in now if now[k] != before.get(k) and k not in free]
    if changed:  # first: a cleaning or vocabulary setting changes the encoded data too, and is the cause to name
        raise changed_settings(folder, "run", changed, now, before)
    if digest is not None and before.get("data_digest", digest) != digest:
        raise BundleError(f"{folder}: --resume continues a run trained on other data (its training or valid texts, or "
                          "their labels, differ from this command's). Resume with the same data, or start again with "
                          "--overwrite.")


def check_resumed_mode(folder: Path, streamed: bool) -> None:
    """Refuse, before any data is read, to resume the checkpoint in ``folder`` with(out) ``--stream`` when it was
    trained without (with) it: streamed, the refusal came after both passes over the file had rebuilt its shards
    (hours, for the files --stream is for), and left them there. A checkpoint that cannot be read is left to
    :func:`load_checkpoint` to name."""
    try:
        saved = json.loads((folder / "state.json").read_text(encoding="utf-8")).get("settings") or {}
    except (OSError, ValueError, AttributeError):
        return
    if "streamed" in saved and saved["streamed"] != streamed:
        raise _other_mode(folder, saved["streamed"])


def _other_mode(folder: Path, was_streamed: bool) -> BundleError:
    was, asked = ("with", "without") if was_streamed else ("without", "with")
    return BundleError(f"{folder}: --resume continues a run trained {was} --stream, and this command is {asked} it: "
                       "its batches would differ. Resume with the same command, or start again with --overwrite.")


def changed_settings(folder: Path, what: str, changed: list[str], now: dict[str, Any], before: dict[str, Any]
                     ) -> BundleError:
    """The one-line refusal of a ``--resume`` that sets ``changed`` (flattened keys) away from the saved ``what``'s."""
    key, more = changed[0], len(changed) - 1
    return BundleError(
        f"{folder}: --resume continues the {what} saved there, but this command sets {key} = {now[key]!r} (the saved "
        f"run: {before.get(key)!r}" + (f"; {more} more setting{'s differ' if more > 1 else ' differs'}" if more else "")
        + "). Resume with the same command and config, or start again with --overwrite.")


def has_checkpoint(folder: Path | None) -> bool:
    """Whether ``folder`` holds a checkpoint to resume from, after putting back the one a save killed between
    atomic_dir's two renames had left beside its place (a member, a language model or a student that looked only
    for the folder restarted from its first epoch)."""
    return folder is not None and (recover_dir(folder) or (folder / "state.json").is_file())


def load_checkpoint(folder: Path) -> dict[str, Any]:
    """Read a checkpoint folder written by :func:`save_checkpoint`.

    Raises:
        BundleError: If the folder is missing or incomplete.
    """
    recover_dir(folder)  # a crash between atomic_dir's two renames left it beside its place
    needed = ["state.json", "last.safetensors", "optimizer.safetensors", "rng.safetensors"]
    missing = [name for name in needed if not (folder / name).is_file()]
    if missing:
        raise BundleError(
            f"{folder}: no usable checkpoint (missing {', '.join(missing)}). Start without --resume."
        )
    name = "state.json"
    try:  # a file cut short (a full disk, a copy that stopped) was a JSONDecodeError or SafetensorError traceback
        state = json.loads((folder / name).read_text(encoding="utf-8"))
        if not isinstance(state, dict):
            raise ValueError("not a JSON object")
        name = "optimizer.safetensors"
        opt = load_file(folder / name)
        opt.pop("_empty", None)
        found = {"trainer_state": state, "optimizer": opt}
        for key, name in (("model", "last.safetensors"), ("best", "best.safetensors"), ("rng", "rng.safetensors")):
            found[key] = load_file(folder / name) if key != "best" or (folder / name).is_file() else None
    except (ValueError, UnicodeDecodeError, SafetensorError, OSError) as exc:  # JSONDecodeError is a ValueError
        raise BundleError(f"{folder}/{name} is corrupt or unreadable ({_first(exc)}). Start again with --overwrite "
                          "(the checkpoint cannot be resumed).") from None
    return found  # rng: "torch", and "torch_rank<r>" per rank of a distributed run


def _first(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0].rstrip(".")
