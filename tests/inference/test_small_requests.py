"""Small requests (one text, a few) take a faster road: one thread, batches of one length. Same answers."""

import numpy as np
import pytest
import torch

import lstmtext.encoding.batching as batching
from lstmtext.encoding.batching import eval_batches
from lstmtext.inference import predictor as predictor_module
from lstmtext.inference.predictor import SAME_LENGTH, SMALL_REQUEST, Predictor, one_thread


def test_same_length_batches_hold_no_padding_and_cover_every_row():
    lengths = np.array([3, 5, 3, 1, 5, 5, 2, 3])
    batches = eval_batches(lengths, batch_size=2, same_length=True)
    assert sorted(np.concatenate(batches).tolist()) == list(range(8))
    assert all(len(set(lengths[b].tolist())) == 1 and len(b) <= 2 for b in batches)
    assert [lengths[b][0] for b in batches] == [5, 5, 3, 3, 2, 1]  # longest first, cut at batch_size too
    assert len(eval_batches(lengths, batch_size=8)) == 1  # without it: one padded batch


def test_one_thread_restores_the_count_even_after_an_error():
    before = torch.get_num_threads()
    with pytest.raises(RuntimeError), one_thread():
        assert torch.get_num_threads() == 1
        raise RuntimeError("boom")
    assert torch.get_num_threads() == before


def test_small_requests_answer_as_a_big_batch_does(trained_run, tiny_frame, monkeypatch):
    p = Predictor.from_bundle(trained_run[0] / "model")
    texts = tiny_frame["text"].tolist()[: SMALL_REQUEST + 5]
    big = p.predict_proba(texts)  # more than SMALL_REQUEST: the usual batches
    seen = []
    real = batching.eval_batches
    monkeypatch.setattr(batching, "eval_batches", lambda *a, **k: seen.append(k.get("same_length")) or real(*a, **k))
    threads = []
    real_set = torch.set_num_threads
    monkeypatch.setattr(predictor_module.torch, "set_num_threads", lambda n: threads.append(n) or real_set(n))
    one = np.concatenate([p.predict_proba([t]) for t in texts[:3]])
    few = p.predict_proba(texts[: SAME_LENGTH + 2])  # one thread, mixed-length batches
    np.testing.assert_allclose(one, big[:3], atol=1e-5)
    np.testing.assert_allclose(few, big[: SAME_LENGTH + 2], atol=1e-5)
    assert seen == [True, True, True, False] and threads[0::2] == [1, 1, 1, 1]


def test_a_predictors_threads_are_its_own_passes_not_the_process_count(trained_run, tiny_frame, monkeypatch):
    from lstmtext.inference.engines import load_predictor

    before = torch.get_num_threads()
    p = load_predictor(trained_run[0] / "model", "torch", threads=1 if before > 1 else 2)
    assert torch.get_num_threads() == before  # loading set the whole process's count: later training ran on it
    seen = []
    real = predictor_module.predict_logits
    monkeypatch.setattr(predictor_module, "predict_logits",
                        lambda *a, **k: seen.append(torch.get_num_threads()) or real(*a, **k))
    texts = tiny_frame["text"].tolist()[: SMALL_REQUEST + 5]  # a big request: the predictor's threads
    assert np.allclose(p.predict_proba(texts), Predictor.from_bundle(trained_run[0] / "model").predict_proba(texts),
                       atol=1e-6)
    assert seen[0] == p.threads and torch.get_num_threads() == before
