"""Distributed training: rank shares of a batch, the torchrun command line, and 2 processes = 1 process.

The end-to-end test runs 2 gloo processes on 127.0.0.1 (a free port) on the CPU. Dropout is off
(``model.embed_dropout`` and ``model.rnn_input_dropout`` 0): each rank draws its own dropout masks for its own
rows, so with dropout the 2-process run is a valid training run but not the 1-process one.
"""

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from helpers import TINY_OVERRIDES, classify_objective
from lstmtext.config import build_config
from lstmtext.encoding.batching import collate
from lstmtext.errors import ConfigError
from lstmtext.pipeline import run
from lstmtext.pipeline.launch import LaunchOptions, launch, torchrun_command
from lstmtext.training.ddp import Shard

SEQUENCES = [[2, 3, 4], [5], [6, 7], [8, 9, 10, 11], [12]]
LABELS = np.array([0, 1, 1, 0, 2])


def _batch():
    return collate(SEQUENCES, np.arange(5), LABELS)


def test_shares_split_rows_and_sum_to_one():
    parts = [Shard(rank, 2).select(_batch(), classify_objective(3)) for rank in range(2)]
    assert [p[0].index.tolist() for p in parts] == [[0, 2, 4], [1, 3]]
    assert [p[1] for p in parts] == [[0.6], [0.4]] and [p[2] for p in parts] == [0.6, 0.4]
    first = parts[0][0]
    assert first.ids.shape == (3, 3) and first.lengths.tolist() == [3, 2, 1]  # padding cut to the share's longest


def test_class_weighted_shares_follow_the_weights():
    objective = classify_objective(3, torch.tensor([1.0, 2.0, 4.0]))
    shares = [Shard(rank, 2).select(_batch(), objective)[1][0] for rank in range(2)]
    assert shares == pytest.approx([7 / 10, 3 / 10])  # row weights 1 2 2 1 4: ranks hold 1+2+4 and 2+1


def test_rank_without_rows_gets_one_row_with_share_zero():
    batch = collate(SEQUENCES, np.arange(2), LABELS)
    local, shares, row_share = Shard(2, 3).select(batch, classify_objective(3))
    assert shares == [0.0] and row_share == 0.0 and len(local.index) == 1


def test_torchrun_command_single_and_multi_node(tmp_path):
    one = torchrun_command(LaunchOptions(nproc=2, master_port=29555), tmp_path / "job.json")
    assert "--nproc-per-node=2" in one and "--master-addr=127.0.0.1" in one and "--master-port=29555" in one
    assert one[-3:] == ["-m", "lstmtext.pipeline.launch", str(tmp_path / "job.json")]
    rdzv = torchrun_command(LaunchOptions(nproc=4, nnodes=2, rdzv_endpoint="10.0.0.1:29400"), tmp_path / "j")
    assert "--nnodes=2" in rdzv and "--rdzv-backend=c10d" in rdzv and "--rdzv-endpoint=10.0.0.1:29400" in rdzv
    with pytest.raises(ConfigError, match="needs --master-port"):
        torchrun_command(LaunchOptions(nproc=2, nnodes=2, node_rank=1, master_addr="10.0.0.1"), tmp_path / "j")
    with pytest.raises(ConfigError, match="0 <= node-rank < nnodes"):
        torchrun_command(LaunchOptions(nproc=2, nnodes=2, node_rank=2, master_port=1), tmp_path / "j")
    import socket

    with socket.socket() as taken:  # torchrun's store failed on it with ~40 lines ending in EADDRINUSE
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ConfigError, match=rf"^--master-port {port} on 127\.0\.0\.1: .*Choose another --master-port"):
            torchrun_command(LaunchOptions(nproc=2, master_port=port), tmp_path / "j")


@pytest.mark.slow
def test_ranks_stop_when_the_launcher_is_killed(tiny_path, tmp_path):
    """A SIGKILL of `train --nproc 2` (an out-of-memory kill, a scheduler's) left torchrun and both ranks training."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    cmd = [sys.executable, "-m", "lstmtext", "train", str(tiny_path), "--nproc", "2", "--out", str(tmp_path / "run"),
           "--quiet", *[x for o in TINY_OVERRIDES + ["train.epochs=100000", "train.patience=none", "train.threads=1"]
                        for x in ("--set", o)]]
    # TMPDIR: a SIGKILL leaves the launcher's job file behind (its finally never runs); in tmp_path, not in /tmp
    launcher = subprocess.Popen(cmd, env={**os.environ, "OMP_WAIT_POLICY": "PASSIVE", "TMPDIR": str(tmp_path)},
                                stderr=subprocess.DEVNULL)
    children = Path(f"/proc/{launcher.pid}/task/{launcher.pid}/children")
    deadline = time.monotonic() + 60
    while not (children.exists() and children.read_text().split()):  # torchrun has started
        assert time.monotonic() < deadline and launcher.poll() is None
        time.sleep(0.2)
    torchrun = int(children.read_text().split()[0])
    time.sleep(3)  # the ranks are up
    ranks = [int(p) for p in Path(f"/proc/{torchrun}/task/{torchrun}/children").read_text().split()]
    launcher.send_signal(signal.SIGKILL)
    launcher.wait()
    deadline = time.monotonic() + 30
    try:
        while Path(f"/proc/{torchrun}").exists() and Path(f"/proc/{torchrun}/stat").read_text().split()[2] != "Z":
            assert time.monotonic() < deadline, "torchrun and its ranks outlived the launcher (100,000 epochs to go)"
            time.sleep(0.5)
    finally:
        for pid in (torchrun, *ranks):  # none left behind by a failure (each rank has a session of its own)
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    assert ranks and not any(Path(f"/proc/{pid}").exists() and Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
                             for pid in ranks)
    assert not (tmp_path / "run" / "model").exists()


def test_two_processes_match_one_process(tiny_path, tmp_path):
    # 24 training rows in batches of 23: batches of 23 (ranks take 12 and 11 rows) and 1 (rank 1 takes none);
    # balanced class weights make the shares weighted ones; fp32: bf16 rounds each rank's partial weight
    # gradient to bfloat16 before the all-reduce, a ~1e-4 difference from one process, not float rounding
    overrides = TINY_OVERRIDES + ["train.epochs=5", "train.batch_size=23", "train.threads=1",
                                  "train.class_weight=\"balanced\"", "model.embed_dropout=0.0",
                                  "model.rnn_input_dropout=0.0", "train.precision=\"fp32\""]
    config = build_config(None, overrides=overrides)
    code = launch(config, tiny_path, tmp_path / "two", {"progress": False}, LaunchOptions(nproc=2))
    assert code == 0
    run(config, tiny_path, tmp_path / "one", progress=False)
    two = json.loads((tmp_path / "two" / "history.json").read_text())
    one = json.loads((tmp_path / "one" / "history.json").read_text())
    assert [h["epoch"] for h in two] == [1, 2, 3, 4, 5]
    for key in ("train_loss", "train_accuracy", "valid_loss"):
        assert [h[key] for h in two] == pytest.approx([h[key] for h in one], rel=1e-5), key
    w_two = load_file(tmp_path / "two" / "model" / "model.safetensors")
    w_one = load_file(tmp_path / "one" / "model" / "model.safetensors")
    assert w_two.keys() == w_one.keys()
    for name in w_one:  # relative to each tensor's norm: float error, not a lone tiny weight, sets the scale
        assert float((w_two[name] - w_one[name]).norm() / w_one[name].norm()) < 1e-5, name
    assert (tmp_path / "two" / "checkpoint" / "state.json").is_file()
    # how many processes trained it is in the outputs: with dropout, a seed's figures depend on it
    summaries = [json.loads((tmp_path / d / "metrics.json").read_text())["summary"] for d in ("two", "one")]
    assert [(s["processes"], s["streamed"]) for s in summaries] == [(2, False), (1, False)]
    assert "2 processes (DDP)" in (tmp_path / "two" / "model" / "README.md").read_text()


def test_a_users_error_in_the_ranks_comes_back_as_one_line_and_torchrun_adds_no_traceback(tiny_path, tmp_path,
                                                                                        capfd, monkeypatch):
    import tempfile

    from lstmtext.errors import LstmTextError

    (tmp_path / "tmp").mkdir()  # this launch's job files: another run on the machine may have its own in /tmp
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "report.html").write_text("another run's")  # refused in every rank, before training
    config = build_config(None, overrides=TINY_OVERRIDES + ["train.threads=1"])
    with pytest.raises(LstmTextError, match=r"report\.html already there .* Pass --overwrite"):
        launch(config, tiny_path, tmp_path / "out", {"progress": False}, LaunchOptions(nproc=2))
    assert "ChildFailedError" not in capfd.readouterr().err
    assert not list((tmp_path / "tmp").glob("lstmtext-job-*"))  # the job file and the ranks' error files


def test_a_bad_row_found_by_the_rank_that_writes_the_shards_is_one_line(tiny_frame, tmp_path, capfd):
    from lstmtext.errors import DataError

    path = tmp_path / "bad.csv"
    bad = tiny_frame.copy()
    bad.loc[len(bad) - 1, "text"] = ""
    bad.to_csv(path, index=False)
    config = build_config(None, overrides=TINY_OVERRIDES + ["train.threads=1"])
    with pytest.raises(DataError, match=r"bad\.csv:\d+: text in column 'text' is empty"):
        launch(config, path, tmp_path / "out", {"progress": False, "stream": True}, LaunchOptions(nproc=2))
    err = capfd.readouterr().err  # rank 1, waiting for the shards, lost rank 0: 55 lines of tracebacks
    assert "Traceback" not in err and "ChildFailedError" not in err, err


def test_a_data_warning_is_printed_once_not_once_per_rank(tiny_frame, tmp_path, capfd):
    path = tmp_path / "dup.csv"
    import pandas as pd

    pd.concat([tiny_frame, tiny_frame.iloc[:1]]).to_csv(path, index=False)  # one repeated row: warned about
    config = build_config(None, overrides=TINY_OVERRIDES + ["train.threads=1", "train.epochs=1"])
    assert launch(config, path, tmp_path / "out", {"progress": False}, LaunchOptions(nproc=2)) == 0
    err = capfd.readouterr().err
    assert err.count("1 duplicate (text, label) row kept") == 1 and err.count("the valid split holds") == 1, err


def test_a_resumed_two_process_run_draws_each_ranks_own_dropout_masks(tiny_path, tmp_path):
    """Each rank's RNG state is in the checkpoint: a resumed run ends with the uninterrupted run's weights (batches
    of 7 give the ranks 4 and 3 rows, so their dropout draws, and RNG states, part)."""
    overrides = TINY_OVERRIDES + ["train.batch_size=7", "model.embed_dropout=0.3", "model.rnn_input_dropout=0.3",
                                  "train.precision=\"fp32\""]
    whole = build_config(None, overrides=overrides + ["train.epochs=4"])
    assert launch(whole, tiny_path, tmp_path / "whole", {"progress": False}, LaunchOptions(nproc=2)) == 0
    first = build_config(None, overrides=overrides + ["train.epochs=2"])  # stopped after 2, then continued to 4
    assert launch(first, tiny_path, tmp_path / "parts", {"progress": False}, LaunchOptions(nproc=2)) == 0
    rng = load_file(tmp_path / "parts" / "checkpoint" / "rng.safetensors")
    assert sorted(rng) == ["torch", "torch_rank0", "torch_rank1"] and not torch.equal(rng["torch_rank0"], rng["torch_rank1"])
    assert launch(whole, tiny_path, tmp_path / "parts", {"progress": False, "resume": True}, LaunchOptions(nproc=2)) == 0
    a = load_file(tmp_path / "whole" / "checkpoint" / "last.safetensors")
    b = load_file(tmp_path / "parts" / "checkpoint" / "last.safetensors")
    for name in a:
        assert torch.equal(a[name], b[name]), name


@pytest.mark.parametrize("layout,targets,weights", [
    ((3,), [0, 1, 1, 0, 2], [[1.0, 2.0, 4.0]]),  # single label, class-weighted
    ((2, 3), [[0, 2], [1, 0], [1, 1], [0, 2], [0, 0]], [[1.0, 3.0], [2.0, 1.0, 5.0]]),  # two aspects, weighted
    ((2, 3), [[0, 2], [1, 0], [1, 1], [0, 2], [0, 0]], None),  # two aspects, unweighted
    ((3,), [[1, 0, 1], [0, 0, 0], [1, 1, 0], [0, 1, 0], [1, 0, 0]], [[2.0, 0.5, 4.0]]),  # multi-label, pos weights
])
def test_ranks_losses_average_to_the_global_batch_loss(layout, targets, weights):
    """DDP averages the ranks' gradients, so the ranks' shard losses must average to the global loss, every task."""
    from lstmtext.models import OutputLayout
    from lstmtext.tasks.objective import LayoutObjective

    sigmoid = len(layout) == 1 and np.asarray(targets).ndim == 2
    out = OutputLayout(layout, "sigmoid" if sigmoid else "softmax")
    objective = LayoutObjective(out, [torch.tensor(w) for w in weights] if weights else None, lambda lg, y: {})
    y = torch.tensor(targets, dtype=torch.float32 if sigmoid else torch.int64)
    torch.manual_seed(0)
    logits = torch.randn(5, out.total)
    batch = collate(SEQUENCES, np.arange(5), y.numpy())
    total = 0.0
    for rank in range(2):
        local, shares, _ = Shard(rank, 2).select(batch, objective)
        rows = torch.from_numpy(local.index)
        total += float(objective.shard_loss(logits[rows], local.targets, shares, 2)) / 2
    assert total == pytest.approx(float(objective.loss(logits, y)), rel=1e-6)


def test_an_aspect_model_is_refused_in_one_line_before_any_process_starts():
    from types import SimpleNamespace

    from lstmtext.pipeline.checks import check_run

    config = build_config("absa", overrides=["model.ensemble=1"])
    with pytest.raises(ConfigError, match=r"--nproc cannot train --task absa: the aspect heads .* Train it in one "
                                          r"process \(leave out --nproc\)\."):
        check_run(config, data="aspects.csv", shard=SimpleNamespace(rank=0, world_size=2))
    check_run(build_config("multilabel", overrides=["model.ensemble=1"]), data="labels.csv",
              shard=SimpleNamespace(rank=0, world_size=2))


def test_verbose_reaches_the_ranks_through_the_job_file(tmp_path):
    """-v logged nothing from the ranks (each ran at WARNING): embedding coverage, the epochs never showed."""
    import json
    import logging

    from lstmtext.pipeline.launch import LaunchOptions, job_log_level, job_spec

    root = logging.getLogger()
    before = root.level
    job = tmp_path / "job.json"
    try:
        for level in (logging.INFO, logging.WARNING):
            root.setLevel(level)  # as the CLI sets it for -v or not
            job.write_text(json.dumps(job_spec(build_config(None), None, tmp_path, {}, LaunchOptions(nproc=2))))
            assert job_log_level(str(job)) == level
    finally:
        root.setLevel(before)
    job.write_text(json.dumps({}), encoding="utf-8")  # a job file of an older launcher
    assert job_log_level(str(job)) == logging.WARNING


def test_a_killed_launchers_job_files_are_removed_by_the_next_launch(tmp_path):
    """A launcher killed with kill -9 left its job file (the run's resolved config) in the temporary folder."""
    import os

    from lstmtext.pipeline.launch import remove_stale_jobs

    dead = 2**22 + 12_345  # above Linux's largest pid_max (4,194,304): no such process
    stale = [tmp_path / f"lstmtext-job-{dead}-abc.json", tmp_path / f"lstmtext-job-{dead}-abc.json.error.0"]
    live = [tmp_path / f"lstmtext-job-{os.getpid()}-def.json", tmp_path / f"lstmtext-job-{os.getppid()}-ghi.json"]
    other = tmp_path / "lstmtext-job-notapid.json"  # an older launcher's name: left alone
    for path in [*stale, *live, other]:
        path.write_text("{}", encoding="utf-8")
    assert sorted(remove_stale_jobs(tmp_path)) == sorted(stale)
    assert all(p.exists() for p in [*live, other]) and not any(p.exists() for p in stale)



class _MeanEmbedding(torch.nn.Module):
    """The mean of a text's token vectors, then a linear layer: a small model with lstmtext's (ids, lengths) call."""

    def __init__(self, vocab, classes):
        super().__init__()
        self.embedding = torch.nn.Embedding(vocab, 4)
        self.out = torch.nn.Linear(4, classes)

    def forward(self, ids, lengths):
        mask = (torch.arange(ids.shape[1])[None, :] < lengths[:, None]).float()
        return self.out((self.embedding(ids) * mask[..., None]).sum(1) / lengths[:, None])


def test_the_ranks_train_loss_adds_up_to_the_global_batchs_with_class_weights():
    """Each rank had added its own weighted mean loss times its rows: with class weights a rank's share of the
    weights is not its share of the rows, and train_loss moved with the number of processes (1.0921 on one, 1.0718
    on three). Here each rank's epoch runs in turn with lr 0 (every rank sees the same weights) and the test adds
    up what the epoch's all-reduce would."""
    from lstmtext.config import TrainConfig
    from lstmtext.encoding.batching import EncodedSplit
    from lstmtext.training.loop import _run_epoch

    class Rank(Shard):
        def all_reduce_sum(self, values):  # this rank's own totals: loss sum, rows right, rows
            reduced.append(values)
            return values

    torch.manual_seed(0)
    model = _MeanEmbedding(20, 3)
    sequences = [[2 + i % 17] * (1 + i % 4) for i in range(11)]
    split = EncodedSplit(sequences, np.array([0, 0, 0, 0, 0, 0, 0, 1, 1, 2, 0]))
    lengths = np.array([len(s) for s in sequences])
    objective = classify_objective(3, torch.tensor([0.3, 2.0, 5.0]))
    cfg = TrainConfig(batch_size=5, epochs=1, schedule="constant", clip_grad_norm=None)  # the optimizer has lr 0

    def epoch(shard):
        optimizer = torch.optim.SGD(model.parameters(), lr=0.0)
        return _run_epoch(model, split, lengths, cfg, objective, optimizer, list(model.parameters()), 1, False, shard)

    one = epoch(None)["train_loss"]
    for world in (2, 3):
        reduced = []
        for rank in range(world):
            epoch(Rank(rank, world))
        loss, _, rows = (sum(v[k] for v in reduced) for k in range(3))
        assert rows == pytest.approx(len(sequences)) and loss / rows == pytest.approx(one, rel=1e-6), world


@pytest.mark.parametrize("value", ["abc", "0", "-5", "inf", "nan"])
def test_a_bad_timeout_in_the_environment_is_one_line_before_any_rank_starts(value, monkeypatch, tmp_path):
    """Every rank had ended in a ValueError traceback of its own (and 0 was taken)."""
    from lstmtext.training.ddp import timeout_minutes_from_env

    monkeypatch.setenv("LSTMTEXT_DIST_TIMEOUT_MIN", value)
    with pytest.raises(ConfigError, match=rf"^LSTMTEXT_DIST_TIMEOUT_MIN='{value}': give the minutes .* above 0"):
        launch(build_config(None, overrides=TINY_OVERRIDES), None, tmp_path / "r", {}, LaunchOptions(nproc=2))
    monkeypatch.setenv("LSTMTEXT_DIST_TIMEOUT_MIN", "2.5")
    assert timeout_minutes_from_env() == 2.5


def test_a_rank_that_dies_without_an_lstmtext_error_is_said_in_one_line(monkeypatch, tmp_path):
    """A rank killed (out of memory) or crashed: torchrun's code came back silently, with 80 lines of its own above."""
    import lstmtext.pipeline.launch as module
    from lstmtext.errors import LstmTextError

    class Died:  # torchrun, exiting 1 at once
        pid = 0

        def __init__(self, *args, **kwargs):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def wait(self):
            return 1

    monkeypatch.setattr(module.subprocess, "Popen", Died)
    config = build_config(None, overrides=TINY_OVERRIDES)
    with pytest.raises(LstmTextError, match=r"^the distributed run stopped: torchrun exited with code 1 .*how\)\.$"):
        launch(config, None, tmp_path / "r", {}, LaunchOptions(nproc=2, master_port=29561))
    (tmp_path / "r" / "checkpoint").mkdir(parents=True)
    (tmp_path / "r" / "checkpoint" / "state.json").write_text("{}")
    with pytest.raises(LstmTextError, match=rf"The last finished epoch is kept in {tmp_path / 'r'}: run the same command "
                                            "with --resume to go on\\.$"):
        launch(config, None, tmp_path / "r", {}, LaunchOptions(nproc=2, master_port=29561))


def test_a_rank_interrupted_while_it_starts_leaves_quietly():
    """Ctrl-C in a --nproc run's first seconds reached ranks still importing torch: a KeyboardInterrupt traceback from
    each, then torchrun's ChildFailedError (55 lines). The launcher marks its ranks' environment, and such a rank
    leaves with code 0 and nothing said (the launcher says once what was kept)."""
    import os
    import subprocess
    import sys

    code = "import os, signal, time; import lstmtext; os.kill(os.getpid(), signal.SIGINT); time.sleep(30)"
    quiet = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                           env={**os.environ, "LSTMTEXT_RANK_QUIET_INTERRUPT": "1"})
    assert quiet.returncode == 0 and quiet.stderr == ""
    env = {k: v for k, v in os.environ.items() if k != "LSTMTEXT_RANK_QUIET_INTERRUPT"}
    loud = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env)
    assert loud.returncode != 0 and "KeyboardInterrupt" in loud.stderr  # any other process: Python's own Ctrl-C


def test_ranks_that_do_not_stop_after_a_ctrl_c_are_ended(monkeypatch, tmp_path):
    """A rank waiting in the rendezvous for a peer that had left (interrupted while it imported) cannot take the
    signal: the launcher waited for the group's timeout, 3 hours. It now ends the ranks still there after a while."""
    import subprocess

    import lstmtext.pipeline.launch as module

    ended = []

    class Stuck:  # torchrun: interrupted by the user's Ctrl-C, then never exiting
        pid = 0

        def __init__(self, *args, **kwargs):
            self.calls = 0

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def wait(self, timeout=None):
            self.calls += 1
            if self.calls == 1:
                raise KeyboardInterrupt
            raise subprocess.TimeoutExpired("torchrun", timeout)

    monkeypatch.setattr(module.subprocess, "Popen", Stuck)
    monkeypatch.setattr(module, "_interrupt_ranks", lambda proc, nproc: [101, 102])
    monkeypatch.setattr(module, "_end_group", lambda proc, ranks: ended.append(ranks))
    with pytest.raises(KeyboardInterrupt):
        launch(build_config(None, overrides=TINY_OVERRIDES), None, tmp_path / "r", {}, LaunchOptions(nproc=2))
    assert ended == [[101, 102]]


def test_a_rank_takes_ctrl_c_over_from_the_quiet_start_handler(tmp_path, monkeypatch):
    """A rank starts with LSTMTEXT_RANK_QUIET_INTERRUPT's handler (exit at once, without a word); once worker() runs,
    Ctrl-C is a KeyboardInterrupt again, which it answers by leaving with 0 after its teardown (the launcher says what
    was kept). Without the hand-back a Ctrl-C in training ended the rank before its teardown."""
    import signal

    from lstmtext.pipeline import launch as launch_mod

    seen, torn = [], []

    def interrupted_setup():
        seen.append(signal.getsignal(signal.SIGINT))
        signal.raise_signal(signal.SIGINT)  # with the start handler still set this would record, not raise
        return None

    monkeypatch.setattr(launch_mod, "setup", interrupted_setup)
    monkeypatch.setattr(launch_mod, "teardown", lambda: torn.append(True))
    job = tmp_path / "job.json"
    job.write_text(json.dumps({"config": build_config(None).model_dump(mode="json"), "data": "x.csv",
                               "out": str(tmp_path / "run"), "run": {}}), encoding="utf-8")
    before = signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGINT, lambda *_: seen.append("start handler"))  # stands in for the quiet exit
    try:
        assert launch_mod.worker(job) == 0
    finally:
        signal.signal(signal.SIGINT, before)
    assert seen == [signal.default_int_handler] and torn == [True]
