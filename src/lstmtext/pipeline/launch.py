"""``lstmtext train --nproc N``: start N ranks through torchrun, each running :func:`lstmtext.pipeline.runner.run`
with its :class:`~lstmtext.training.ddp.Shard` (``python -m lstmtext.pipeline.launch JOB.json``); see
docs/distributed.md.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from lstmtext import errors
from lstmtext.config import Config
from lstmtext.errors import ConfigError, LstmTextError
from lstmtext.pipeline.runner import run
from lstmtext.training.ddp import setup, teardown, timeout_minutes_from_env
from lstmtext.utils.interrupts import interrupting
from lstmtext.utils.orphans import hold, owned_prefix, remove_orphans

log = logging.getLogger(__name__)

#: The name prefix of a launcher's job files, followed by its process id (:mod:`lstmtext.utils.orphans`).
JOB_PREFIX = "lstmtext-job-"

LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclass
class LaunchOptions:
    """Where the ranks run: processes on this node, nodes, and the rendezvous of the nodes.

    Args:
        nproc: Processes (ranks) on this node.
        nnodes: Nodes taking part; each runs the same command with its own ``node_rank``.
        node_rank: This node's number, 0 .. nnodes - 1 (node 0 hosts the rendezvous with master_addr).
        master_addr: Address of node 0, reachable from every node.
        master_port: Free TCP port on node 0; None: a free port of this machine (one node only).
        rdzv_endpoint: ``host:port`` of a c10d rendezvous, instead of master_addr/master_port.
    """

    nproc: int = 1
    nnodes: int = 1
    node_rank: int = 0
    master_addr: str = "127.0.0.1"
    master_port: int | None = None
    rdzv_endpoint: str | None = None


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port that was free on ``host`` a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def check_port_free(host: str, port: int) -> None:
    """Refuse a --master-port another program listens on, in one line (torchrun's store failed with a traceback of
    ~40 lines, ``EADDRINUSE``).

    Raises:
        ConfigError: Naming the port and the fix.
    """
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as torchrun's store binds: only a listener fails,
        try:  # not the TIME_WAIT an earlier run on the port left
            sock.bind((host, port))
            sock.listen()
        except OSError as exc:
            raise ConfigError(f"--master-port {port} on {host}: {exc.strerror or exc} (another run or server?). Choose "
                              "another --master-port, or leave it out on one node (a free one is picked).") from None


def die_with_parent(prctl: Any, parent: int) -> None:
    """In torchrun's process before it starts (Linux): be sent SIGTERM when ``parent``, this launcher, dies, even
    by SIGKILL, which nothing can catch; torchrun then stops the ranks. (Killed so, the launcher left torchrun and
    its ranks training on, orphaned, writing into OUT.) ``prctl`` is libc's, looked up in the parent: a forked child
    of a process with threads must not load libraries."""
    prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # it died before the line above
        os.kill(os.getpid(), signal.SIGTERM)


def _prctl() -> Any:
    """libc's ``prctl`` on Linux, else None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


def torchrun_command(opts: LaunchOptions, job_file: Path) -> list[str]:
    """Return the ``torchrun`` command line (as ``python -m torch.distributed.run``) that starts every rank.

    Raises:
        ConfigError: For impossible process or node counts, or a multi-node run without a rendezvous port.
    """
    if opts.nproc < 1 or opts.nnodes < 1 or not 0 <= opts.node_rank < opts.nnodes:
        raise ConfigError(f"--nproc {opts.nproc}, --nnodes {opts.nnodes}, --node-rank {opts.node_rank}: need nproc >= 1, "
                          "nnodes >= 1 and 0 <= node-rank < nnodes. Fix the counts.")
    cmd = [sys.executable, "-m", "torch.distributed.run", f"--nproc-per-node={opts.nproc}", f"--nnodes={opts.nnodes}"]
    if opts.rdzv_endpoint:
        cmd += ["--rdzv-backend=c10d", f"--rdzv-endpoint={opts.rdzv_endpoint}", "--rdzv-id=lstmtext"]
    else:
        if opts.master_port is None and opts.nnodes > 1:
            raise ConfigError("--nnodes > 1 needs --master-port (the same free port on every node) or --rdzv-endpoint.")
        if opts.master_port is not None and opts.node_rank == 0 and opts.master_addr in LOOPBACK:
            check_port_free(opts.master_addr, opts.master_port)
        port = opts.master_port if opts.master_port is not None else free_port(opts.master_addr)
        cmd += [f"--node-rank={opts.node_rank}", f"--master-addr={opts.master_addr}", f"--master-port={port}"]
    return cmd + ["-m", "lstmtext.pipeline.launch", str(job_file)]


def remove_stale_jobs(folder: str | Path | None = None) -> list[Path]:
    """Remove the job files (and their error files) of launchers that are gone: one killed outright (``kill -9``)
    never removed its own, which held the run's resolved config. Returns what was removed."""
    return remove_orphans(JOB_PREFIX, folder)


def job_spec(config: Any, data: str | Path | None, out_dir: str | Path, run_kwargs: dict[str, Any],
             opts: LaunchOptions) -> dict[str, Any]:
    """What every rank reads from the job file: the run, the launch options and this process's log level (``-v``
    reached no rank: they logged at WARNING, so no embedding coverage or epoch line showed under ``--nproc``)."""
    return {"config": config.model_dump(mode="json"), "data": None if data is None else str(data),
            "out": str(out_dir), "run": {k: str(v) if isinstance(v, Path) else v for k, v in run_kwargs.items()},
            "launch": asdict(opts), "log_level": logging.getLogger().getEffectiveLevel()}


def launch(config: Any, data: str | Path | None, out_dir: str | Path, run_kwargs: dict[str, Any],
           opts: LaunchOptions) -> int:
    """Run :func:`lstmtext.pipeline.runner.run` on ``opts.nproc`` processes of this node; return torchrun's exit code.

    Each process uses one torch thread unless ``train.threads`` says otherwise.

    Args:
        config: The resolved :class:`lstmtext.config.Config`.
        data: The data file (None: the bundled tweets).
        out_dir: Output folder, written by rank 0 only.
        run_kwargs: Keyword arguments of ``run`` (resume, overwrite, progress, stream, fmt, valid_path, ...).
        opts: Process counts and rendezvous.

    Raises:
        ConfigError: For bad launch options.
    """
    timeout_minutes_from_env()  # a bad value: one line here, not a traceback from every rank
    job = job_spec(config, data, out_dir, run_kwargs, opts)
    env = {"OMP_NUM_THREADS": "1", **os.environ,  # torchrun's default, stated so it does not warn about it
           "LSTMTEXT_RANK_QUIET_INTERRUPT": "1"}  # a rank interrupted while it starts leaves without a traceback
    if opts.nnodes == 1 and opts.master_addr in LOOPBACK and not opts.rdzv_endpoint:
        # one node: gloo must not pick an interface from the host name, which may not route to itself
        env.setdefault("GLOO_SOCKET_IFNAME", "lo0" if sys.platform == "darwin" else "lo")
    remove_stale_jobs()
    fd, name = tempfile.mkstemp(prefix=owned_prefix(JOB_PREFIX), suffix=".json")
    job["errors"] = name + ".error"  # a rank whose run fails with a user's error writes it here and exits 0,
    with os.fdopen(fd, "w", encoding="utf-8") as fh:  # so that torchrun adds no traceback of its own
        json.dump(job, fh)
    held = None
    try:
        held = hold(name)  # while this launcher runs: no other launch's clean-up removes it
        cmd = torchrun_command(opts, Path(name))
        log.info("launching: %s", " ".join(cmd))
        # torchrun in a session of its own: a Ctrl-C in the terminal reaches this process alone, which passes it on
        # to the ranks; torchrun, had it got the signal too, would print a traceback of its own for it. A closed
        # terminal (SIGHUP) stops them too: this process would otherwise die and leave them training
        prctl = _prctl()
        linux = {"preexec_fn": functools.partial(die_with_parent, prctl, os.getpid())} if prctl is not None else {}
        with subprocess.Popen(cmd, env=env, start_new_session=True, **linux) as proc, interrupting("SIGHUP"):
            try:
                code = proc.wait()
            except KeyboardInterrupt:  # (or SIGTERM, SIGHUP): stop the ranks, say it once
                Path(name + ".error.interrupted").touch()  # a rank that loses its peer to it then stops quietly
                ranks: list[int] = []
                try:
                    ranks = _interrupt_ranks(proc, opts.nproc)
                    proc.wait(timeout=STOP_SECONDS)
                except (KeyboardInterrupt, subprocess.TimeoutExpired):  # asked again while they stop, or one stuck
                    _end_group(proc, ranks)  # (a rank waiting for a peer that left): end them now, none left behind
                raise
        failed = sorted(p for p in Path(name).parent.glob(Path(name).name + ".error.*") if p.suffix != ".interrupted")
        if failed:  # "DataError: message": raised again as the rank raised it
            kind, _, message = failed[0].read_text(encoding="utf-8").partition(": ")
            error = getattr(errors, kind, None)
            raise (error if isinstance(error, type) and issubclass(error, LstmTextError) else LstmTextError)(message)
        if code != 0:  # a rank died without a user's error (killed: out of memory; a crash): torchrun said how
            kept = (" The last finished epoch is kept in " f"{out_dir}: run the same command with --resume to go on."
                    if any(Path(out_dir).glob("checkpoint/**/state.json")) else "")  # an ensemble's: member<i>/
            raise LstmTextError(f"the distributed run stopped: torchrun exited with code {code} (torchrun or a rank "
                                f"ended without an lstmtext error; torchrun's messages above say which and how).{kept}")
        return code
    finally:
        if held is not None:
            held.close()
        for path in [Path(name), *Path(name).parent.glob(Path(name).name + ".error.*")]:
            path.unlink(missing_ok=True)


def _ranks(launcher: int) -> list[int] | None:
    """torchrun's children, the ranks (Linux lists them in /proc); None where that cannot be read."""
    try:
        return [int(pid) for pid in Path(f"/proc/{launcher}/task/{launcher}/children").read_text().split()]
    except (OSError, ValueError):
        return None


def _age(pid: int) -> float:
    """Seconds since process ``pid`` started (Linux's /proc); a large number where that cannot be read."""
    try:
        started = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]) / os.sysconf("SC_CLK_TCK")
        return float(Path("/proc/uptime").read_text().split()[0]) - started
    except (OSError, ValueError, IndexError):
        return 1e9


#: Seconds the ranks get to stop after a Ctrl-C before they are ended: a rank waiting for a peer that has left (in
#: the rendezvous, or a collective call) cannot take the signal and would wait out the group's timeout (3 hours).
STOP_SECONDS = 10.0


def _interrupt_ranks(proc: subprocess.Popen, nproc: int, wait: float = 10.0) -> list[int]:
    """Send SIGINT to torchrun's children, the ranks (Linux lists them in /proc), once all ``nproc`` have started or
    ``wait`` seconds have passed: interrupted while it still imports torch, torchrun printed a traceback of its own,
    a rank interrupted while it starts leaves quietly (``LSTMTEXT_RANK_QUIET_INTERRUPT``), and one started after the
    signal went on into the rendezvous. Each rank is let live half a second first: one signalled before Python set
    up its handlers dies of the signal, and torchrun reports it at length. With no rank by then (or no /proc), to
    torchrun's whole process group (torchrun then prints a traceback of its own), or to torchrun alone where there
    are no process groups. Returns the ranks signalled."""
    deadline = time.monotonic() + wait
    ranks = _ranks(proc.pid)
    while ranks is not None and len(ranks) < nproc and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
        ranks = _ranks(proc.pid)
    time.sleep(max(0.0, 0.5 - min((_age(pid) for pid in ranks or []), default=0.5)))
    ranks = _ranks(proc.pid) or ranks or []  # read again: one may have started meanwhile
    try:
        for pid in ranks:
            os.kill(pid, signal.SIGINT)
        if not ranks and proc.poll() is None:
            (os.killpg if hasattr(os, "killpg") else os.kill)(proc.pid, signal.SIGINT)
    except ProcessLookupError:  # already gone
        pass
    return ranks


def _end_group(proc: subprocess.Popen, ranks: list[int] | None = None) -> None:
    """Terminate torchrun and the ranks (its session's process group, and ``ranks``, which have sessions of their own),
    then kill what is left after 10 s."""
    def send(sig: int) -> None:
        try:
            os.killpg(proc.pid, sig) if hasattr(os, "killpg") else proc.send_signal(sig)
        except ProcessLookupError:
            pass
        for pid in ranks or []:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass

    send(signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        send(getattr(signal, "SIGKILL", signal.SIGTERM))
        proc.wait()


def worker(job_file: str | Path) -> int:
    """Entry point of one rank: join the group, run the job with this rank's shard, leave; return an exit code."""

    job = json.loads(Path(job_file).read_text(encoding="utf-8"))
    config = Config.model_validate(job["config"])
    if config.train.threads is None:  # N processes share the cores: one thread each unless asked otherwise
        config.train.threads = 1
    signal.signal(signal.SIGINT, signal.default_int_handler)  # from here a Ctrl-C is a KeyboardInterrupt (below)
    try:
        shard = setup()  # (the rendezvous: interrupted there too, the rank leaves quietly)
        if shard.rank:  # every rank reads the same data and settings: their warnings are printed once, by rank 0
            logging.getLogger().setLevel(logging.ERROR)
        kwargs = dict(job["run"])
        kwargs["progress"] = kwargs.get("progress", True) and shard.rank == 0
        run(config, job["data"], job["out"], shard=shard, **kwargs)
        shard.barrier()  # leave together: one rank tearing its connections down while another still used them is
        # the suspect for a rank of a finished run dying with SIGABRT in gloo (seen once in CI; not reproduced)
    except LstmTextError as exc:  # the launcher prints it as one line (an older job file has no "errors")
        if "errors" not in job:
            log.error("%s", exc)
            return 1
        rank = os.environ.get("RANK", "0")  # torchrun's, as the shard has it (none when setup() failed)
        Path(f"{job['errors']}.{rank}").write_text(f"{type(exc).__name__}: {exc}", encoding="utf-8")
    except KeyboardInterrupt:  # passed on by the launcher, which says once what was kept: torchrun says nothing
        return 0
    except Exception:
        if "errors" in job and any(Path(job["errors"]).parent.glob(Path(job["errors"]).name + ".*")):
            return 0  # another rank stopped on the user's error (it is printed): this one lost its connection to it
        raise
    finally:
        teardown()
    return 0


def job_log_level(job_file: str) -> int:
    """The launcher's log level, from the job file (``-v``: INFO; an older or unreadable file: WARNING). Ranks other
    than 0 then log errors only (:func:`worker`): every rank logging its details printed each line once per rank."""
    try:
        return int(json.loads(Path(job_file).read_text(encoding="utf-8")).get("log_level", logging.WARNING))
    except (OSError, ValueError):  # the worker reports an unreadable job itself
        return logging.WARNING


if __name__ == "__main__":
    from lstmtext.utils.logs import log_to_stderr

    log_to_stderr(job_log_level(sys.argv[1]))
    sys.exit(worker(sys.argv[1]))
