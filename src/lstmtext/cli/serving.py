"""CLI commands ``serve`` (HTTP server for a bundle) and ``export`` (ONNX, optionally int8); thin shells."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from lstmtext.cli.common import ENGINE_HELP, OnnxOpt, console, err_console
from lstmtext.errors import ConfigError

#: Seconds ``serve`` waits, after SIGTERM or Ctrl-C, for open connections before it closes them and exits.
GRACEFUL_SHUTDOWN_S = 10


def serve(
    bundle: Annotated[Optional[Path], typer.Argument(help="Model folder to serve (default: env LSTMTEXT_BUNDLE).")] = None,
    host: Annotated[Optional[str], typer.Option(help="Interface to listen on (default 127.0.0.1).")] = None,
    port: Annotated[Optional[int], typer.Option(help="TCP port (default 8000).")] = None,
    engine: Annotated[Optional[str], typer.Option(help=ENGINE_HELP + " Env LSTMTEXT_ENGINE.")] = None,
    onnx: OnnxOpt = None,
    threads: Annotated[Optional[int], typer.Option(help="CPU threads for inference (default: OMP_NUM_THREADS when set, else every core).")] = None,
    batch_size: Annotated[Optional[int], typer.Option(help="Texts per forward pass (default: the engine's, 128).")] = None,
    max_texts: Annotated[Optional[int], typer.Option(help="Texts per request (default 256).")] = None,
    max_text_chars: Annotated[Optional[int], typer.Option(help="Characters per text (default 5000).")] = None,
    max_body_bytes: Annotated[Optional[int], typer.Option(help="Request body size (default 1000000).")] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level: debug, info, warning, error.")] = "info",
    access_log: Annotated[bool, typer.Option(help="Log every request.")] = True,
    api_key: Annotated[Optional[str], typer.Option(
        help="Require this key (Authorization: Bearer KEY or X-API-Key: KEY) on every endpoint but /health and the "
             "pages. Other users of the machine can see it in the process list: prefer --api-key-file or env "
             "LSTMTEXT_API_KEY.")] = None,
    api_key_file: Annotated[Optional[Path], typer.Option(help="Read the API key from the first line of this file.")] = None,
    min_confidence: Annotated[Optional[float], typer.Option(metavar="P in (0, 1]", help="Answer unsure below this probability when a request gives no min_confidence (the web page's give none): e.g. the P the training report's coverage table chose on valid.")] = None,
) -> None:
    """Serve a model over HTTP: POST /predict, POST /explain, GET /health, GET /info, docs at /docs and a web page at /.

    Every option but --log-level and --access-log can also be set as an `LSTMTEXT_<OPTION>` environment variable
    (e.g. LSTMTEXT_MAX_TEXTS, LSTMTEXT_MIN_CONFIDENCE; --onnx is LSTMTEXT_ONNX_PATH).

    Example: lstmtext serve runs/latest --engine onnx-int8 --min-confidence 0.7 --port 8000
    """
    import uvicorn

    from lstmtext.inference.engines import load_predictor
    from lstmtext.server import ServeSettings, create_app
    from lstmtext.server.auth import exposure_warning

    settings = ServeSettings.from_env(bundle=bundle, host=host, port=port, engine=engine, onnx_path=onnx,
                                      threads=threads, batch_size=batch_size, max_texts=max_texts, max_text_chars=max_text_chars,
                                      max_body_bytes=max_body_bytes, api_key=api_key, api_key_file=api_key_file,
                                      min_confidence=min_confidence)
    _check_port(settings.host, settings.port)
    # Load before starting uvicorn: a bundle that does not load stops here with a one-line error.
    predictor = load_predictor(settings.bundle, settings.engine, settings.onnx_path, settings.batch_size, settings.threads)
    warning = exposure_warning(settings.host, settings.api_key is not None)
    if warning:
        err_console.print(warning, style="yellow", markup=False, highlight=False, soft_wrap=True)
    keyed = " (API key required)" if settings.api_key is not None else ""
    console.print(f"serving {settings.bundle} ({predictor.engine}) on {served_at(settings.host, settings.port)}{keyed}")
    # SIGTERM: requests in flight are answered; a connection still open after 10 s (a client that sent half a
    # body and waits) is closed, so that the process ends (it had waited for that client without limit)
    uvicorn.run(create_app(settings, predictor), host=settings.host, port=settings.port, log_level=log_level,
                access_log=access_log, timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S)


def served_at(host: str, port: int) -> str:
    """Where ``serve`` listens, as a URL to open (an IPv6 address in brackets; it printed ``http://::1:8000/``), or for
    port 0 the host and that the system picks the port (it printed ``:0``; uvicorn's info line gives the port)."""
    if not port:
        return f"{host}, on a port the system picks"
    if host in ("0.0.0.0", "::", "[::]"):  # every interface: http://0.0.0.0:8000/ is no address to open
        return f"every address of this machine, port {port} (from here: http://127.0.0.1:{port}/)"
    return f"http://{f'[{host}]' if ':' in host and not host.startswith('[') else host}:{port}/"


def _check_port(host: str, port: int) -> None:
    """Refuse a port this process cannot listen on, in one line (uvicorn logs the error and exits with status 3)."""
    import errno
    import os
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise ConfigError(f"--host {host}: not an address of this machine ({exc.strerror}). Give an IP address or "
                          "a name that resolves here, e.g. 127.0.0.1.") from None
    failures = []  # uvicorn binds every address the host resolves to, skipping one this machine does not have
    for family, kind, proto, _, address in infos:
        with socket.socket(family, kind, proto) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn: a closed server's port is free
            try:
                sock.bind(address)
            except OSError as exc:
                failures.append(exc.errno)
    real = [e for e in failures if e != errno.EADDRNOTAVAIL]
    if real or (failures and len(failures) == len(infos)):
        code = real[0] if real else errno.EADDRNOTAVAIL
        why = {errno.EADDRINUSE: "is in use (another server?)",
               errno.EACCES: "needs more rights than this user has (ports below 1024 do)",
               errno.EADDRNOTAVAIL: "is on an address this machine does not have"}.get(code, f"cannot be used ({os.strerror(code)})")
        raise ConfigError(f"--port {port} on {host} {why}. Choose another --port, or stop what listens there.")


def export(
    bundle: Annotated[Path, typer.Argument(help="A saved model folder (or a training output folder).")],
    fmt: Annotated[str, typer.Option("--format", help="Export format: onnx.")] = "onnx",
    out: Annotated[Optional[Path], typer.Option(help="Where to write the .onnx file, or a folder to write model.onnx into (one that is there, ends in /, or is a new name without a suffix; default: the bundle's model folder, BUNDLE/model/model.onnx for a training output folder).")] = None,
    quantize: Annotated[bool, typer.Option("--quantize", help="Also write an int8 model (dynamic quantisation) beside it.")] = False,
    check: Annotated[bool, typer.Option(help="Compare the ONNX model with PyTorch on random sequences.")] = True,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace the .onnx files if they are already there (refused without it).")] = False,
) -> None:
    """Export a model to ONNX: inputs ids (batch, time; post-padded) and lengths (batch), outputs logits and probabilities.

    onnxruntime (used by --check and --quantize) keeps a small cache of its own under ~/.cache/Microsoft.

    Example: lstmtext export runs/latest --quantize, then lstmtext serve runs/latest --engine onnx-int8
    """
    from lstmtext.inference.bundle import resolve_bundle_path
    from lstmtext.inference.onnx import ONNX_NAME, check_parity, export_onnx, int8_path

    if fmt != "onnx":
        raise ConfigError(f"--format must be onnx. Got {fmt!r} instead.")
    path = export_onnx(bundle, out, quantize=quantize, overwrite=overwrite)
    console.print(f"wrote {path}" + (f" and {int8_path(path)}" if quantize else ""))
    if path.resolve() != (resolve_bundle_path(bundle) / ONNX_NAME).resolve():  # not where the engines look by default
        console.print(f"the engines read it when named: lstmtext serve {bundle} --onnx {path} (predict, evaluate and "
                      "suggest take --onnx too)", highlight=False, soft_wrap=True)
    if check:
        diff, agree = check_parity(bundle, path)
        console.print(f"parity with PyTorch on random sequences: max |Δp| {diff:.2e}, same label {agree:.1%}")
        if quantize:
            diff, agree = check_parity(bundle, int8_path(path))
            console.print(f"int8 against PyTorch: max |Δp| {diff:.2e}, same label {agree:.1%}")
