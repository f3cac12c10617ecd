"""One inference thread for the server: requests that wait together go through the model as one batch.

Request handlers run on FastAPI's thread pool. If each called the model itself, every pool thread would
start its own OpenMP team (dozens of threads on two cores) and 32 concurrent one-text requests would make
32 forward passes. Here handlers queue their texts and wait; the single worker thread takes everything
queued (up to ``max_batch_texts`` texts), runs one ``proba_and_flags``, and hands each request its rows.
"""

from __future__ import annotations

import logging
import queue
import threading
from concurrent.futures import Future
from typing import Any

import numpy as np

log = logging.getLogger(__name__)


class InferenceWorker:
    """Run ``predictor.proba_and_flags`` on one thread, batching the requests queued at the same time.

    Args:
        max_batch_texts: Most texts merged into one forward pass (one request is never split).
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
        self._queue.put((predictor, texts, future))
        return future

    def close(self) -> None:
        """Finish the queued work and stop the thread."""
        self._queue.put(None)
        self._thread.join(timeout=30)

    def _loop(self) -> None:
        carry = None  # a job that did not fit the previous batch
        while True:
            job, carry = (carry if carry is not None else self._queue.get()), None
            if job is None:
                return
            jobs, n_texts = [job], len(job[1])
            while n_texts < self.max_batch_texts:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None or nxt[0] is not job[0] or n_texts + len(nxt[1]) > self.max_batch_texts:
                    carry = nxt
                    break
                jobs.append(nxt)
                n_texts += len(nxt[1])
            self._run(jobs)

    @staticmethod
    def _run(jobs: list[tuple]) -> None:
        try:
            proba, flags = jobs[0][0].proba_and_flags([t for _, texts, _ in jobs for t in texts])
        except Exception as exc:  # handed to every waiting request, which answers 500
            for _, _, future in jobs:
                future.set_exception(exc)
            return
        offsets = np.cumsum([0] + [len(texts) for _, texts, _ in jobs])
        for (_, _, future), start, stop in zip(jobs, offsets[:-1], offsets[1:]):
            future.set_result((proba[int(start):int(stop)], flags[int(start):int(stop)]))
