"""One inference thread for the server: requests that wait together go through the model as one batch.

Request handlers run on FastAPI's thread pool. If each called the model itself, every pool thread would
start its own OpenMP team (dozens of threads on two cores) and 32 concurrent one-text requests would make
32 forward passes. Here handlers queue their texts and wait; the single worker thread takes everything
queued (up to ``max_batch_texts`` texts), runs one ``proba_and_flags``, and hands each request its rows. A
request of very long texts runs a piece at a time, the others that wait running between its pieces.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections import deque
from concurrent.futures import Future
from typing import Any

import numpy as np

log = logging.getLogger(__name__)


#: Most characters of text one forward pass takes from a request that is longer: such a request is run a piece at a
#: time, with the requests that arrived meanwhile run between its pieces. 60 texts of 4,000 emoji each (within
#: every limit; cleaned to 80,000 characters each) held every other request for 4 s behind one pass.
PIECE_CHARS = 40_000


class _Job:
    """One request: its texts, the future that gets its rows, and how far a request run in pieces has got."""

    __slots__ = ("predictor", "texts", "future", "done", "parts")

    def __init__(self, predictor: Any, texts: list[str], future: Future) -> None:
        self.predictor, self.texts, self.future = predictor, texts, future
        self.done, self.parts = 0, []

    def chars(self) -> int:
        return sum(map(len, self.texts[self.done:]))


class InferenceWorker:
    """Run ``predictor.proba_and_flags`` on one thread, batching the requests queued at the same time.

    Args:
        max_batch_texts: Most texts merged into one forward pass (one request is never split, unless its texts
            hold more than :data:`PIECE_CHARS` characters: then it runs in pieces, and other requests between them).
    """

    def __init__(self, max_batch_texts: int = 256) -> None:
        self.max_batch_texts = max_batch_texts
        self._queue: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name="lstmtext-inference", daemon=True)
        self._thread.start()

    def proba_and_flags(self, predictor: Any, texts: list[str]) -> tuple[Any, Any]:
        """``predictor.proba_and_flags(texts)`` (probabilities, and each text's flags: a known word, cut), computed
        on the worker thread."""
        return self.submit(predictor, texts).result()

    def submit(self, predictor: Any, texts: list[str]) -> Future:
        """Queue ``texts`` and return the future of their ``(probabilities, flags)`` (an async handler awaits it without
        holding a thread: ``await asyncio.wrap_future(worker.submit(...))``)."""
        future: Future = Future()
        self._queue.put(_Job(predictor, texts, future))
        return future

    def close(self) -> None:
        """Finish the queued work and stop the thread."""
        self._queue.put(None)
        self._thread.join(timeout=30)

    def _loop(self) -> None:
        pending: deque[_Job] = deque()  # requests taken off the queue, in order
        closing, resumed = False, None  # resumed: a long request with pieces left, after those queued meanwhile
        while True:
            while True:  # everything queued now (waiting for the next request only when there is nothing to do)
                try:
                    job = self._queue.get_nowait() if pending or closing or resumed else self._queue.get()
                except queue.Empty:
                    break
                if job is None:
                    closing = True
                elif job.future.set_running_or_notify_cancel():  # a request cancelled while queued (its client gone,
                    pending.append(job)  # or shutdown's timeout) is dropped: answering it had killed this thread
            if resumed is not None:
                pending.append(resumed)
                resumed = None
            if not pending:
                return  # closing, and every request answered
            first = pending.popleft()
            if first.done or first.chars() > PIECE_CHARS:  # a long request (its last piece too)
                resumed = self._run_piece(first)
                continue
            jobs, n_texts = [first], len(first.texts)
            chars = first.chars()
            while pending and pending[0].predictor is first.predictor and not pending[0].done \
                    and pending[0].chars() <= PIECE_CHARS \
                    and n_texts + len(pending[0].texts) <= self.max_batch_texts \
                    and chars + pending[0].chars() <= PIECE_CHARS:
                job = pending.popleft()
                jobs.append(job)
                n_texts, chars = n_texts + len(job.texts), chars + job.chars()
            self._run(jobs)

    @staticmethod
    def _run_piece(job: _Job) -> _Job | None:
        """Run the next piece of a long request (texts up to :data:`PIECE_CHARS` characters, at least one); return
        the request while pieces are left (it goes after the requests that came meanwhile), else None."""
        stop, chars = job.done, 0
        while stop < len(job.texts) and (stop == job.done or chars + len(job.texts[stop]) <= PIECE_CHARS):
            chars += len(job.texts[stop])
            stop += 1
        try:
            job.parts.append(job.predictor.proba_and_flags(job.texts[job.done:stop]))
        except Exception as exc:  # noqa: BLE001 - the request answers 500; the others go on
            job.future.set_exception(exc)
            return None
        job.done = stop
        if job.done < len(job.texts):
            return job
        job.future.set_result((np.concatenate([p for p, _ in job.parts]), np.concatenate([f for _, f in job.parts])))
        return None

    @staticmethod
    def _run(jobs: list[_Job]) -> None:
        try:
            proba, flags = jobs[0].predictor.proba_and_flags([t for job in jobs for t in job.texts])
        except Exception as exc:  # handed to every waiting request, which answers 500
            for job in jobs:
                job.future.set_exception(exc)
            return
        offsets = np.cumsum([0] + [len(job.texts) for job in jobs])
        for job, start, stop in zip(jobs, offsets[:-1], offsets[1:]):
            job.future.set_result((proba[int(start):int(stop)], flags[int(start):int(stop)]))
