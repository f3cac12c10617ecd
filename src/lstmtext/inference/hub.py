"""The Hugging Face Hub, only when asked: ``from_pretrained("user/repo")`` downloads a bundle, ``push_to_hub``
uploads one. Needs the optional extra ``lstmtext[hub]`` (``huggingface_hub``); nothing here runs otherwise,
and loading a local folder never touches the network.
"""

from __future__ import annotations

import re
from pathlib import Path

from lstmtext.errors import BundleError

_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


def _hub():
    try:
        import huggingface_hub
    except ImportError:
        raise BundleError("the Hugging Face Hub needs the optional extra: pip install 'lstmtext[hub]'.") from None
    return huggingface_hub


def local_or_hub(name_or_path: str | Path, revision: str | None = None) -> Path:
    """A local bundle folder as it is; a ``user/repo`` that is no local folder, downloaded from the Hub.

    Raises:
        BundleError: If it is neither a folder here nor a repo id, or the Hub extra is missing.
    """
    path = Path(name_or_path)
    if path.exists() or not _REPO_ID.match(str(name_or_path)):
        return path
    try:
        hub = _hub()
    except BundleError:  # most often a mistyped or relative local path: say so first
        raise BundleError(f"{name_or_path}: no such folder here; read as a Hugging Face Hub repo id, it needs the "
                          "optional extra: pip install 'lstmtext[hub]'.") from None
    return Path(hub.snapshot_download(repo_id=str(name_or_path), revision=revision))


def push_to_hub(bundle_path: str | Path, repo_id: str, *, private: bool = True, token: str | None = None) -> str:
    """Upload a saved bundle folder to the Hub repo ``repo_id`` (created private if missing); return its URL."""
    from lstmtext.inference.bundle import resolve_bundle_path

    folder = resolve_bundle_path(bundle_path)
    hub = _hub()
    api = hub.HfApi(token=token)
    api.create_repo(repo_id, private=private, exist_ok=True)
    api.upload_folder(folder_path=str(folder), repo_id=repo_id, commit_message="lstmtext bundle")
    return f"https://huggingface.co/{repo_id}"
