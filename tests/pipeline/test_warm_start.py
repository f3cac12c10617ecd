"""train --init-from: a warm start keeps the saved model's weights, vocabulary and labels, grows them only as
the policies say, and refuses another task, architecture or cleaning with one line."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from helpers import ABSA_WIDE, TINY, TINY_OVERRIDES
from lstmtext.cli import app
from lstmtext.config import build_config
from lstmtext.errors import ConfigError, DataError
from lstmtext.inference.bundle import load_bundle
from lstmtext.inference.predictor import Predictor
from lstmtext.models import build_model
from lstmtext.pipeline import run
from lstmtext.pipeline.prepare import load_data, prepare
from lstmtext.pipeline.warm_start import copy_weights, warm_encoder

SHORT = [*TINY_OVERRIDES, "train.epochs=3"]


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    out = tmp_path_factory.mktemp("warm") / "base"
    run(build_config(None, overrides=SHORT), TINY, out, progress=False)
    return out


def _with_new_rows(path, rows):
    """tiny.csv plus ``rows`` of (text, label, split)."""
    with TINY.open(encoding="utf-8") as fh:
        lines = list(csv.reader(fh))
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([*lines, *rows])
    return path


NEW_CLASS = [("@airline zebra quokka spectacular", "praise", "train"),
             ("@airline quokka zebra spectacular spectacular", "praise", "train"),
             ("@airline spectacular zebra", "praise", "valid")]


def _warm(saved, **train):
    return build_config(None, overrides=SHORT, extra={"train": {"init_from": str(saved), **train}})


def test_copied_weights_predict_exactly_what_the_saved_model_does(saved):
    bundle = load_bundle(saved)
    cfg = _warm(saved)
    prepared = prepare(cfg, load_data(cfg, TINY))
    assert prepared.encoder is prepared.init.encoder and prepared.task.labels == bundle.task.labels
    assert prepared.encoder.vocab.itos == bundle.encoder.vocab.itos
    torch.manual_seed(123)  # a fresh model: different weights until copied
    model = build_model(cfg.model, len(prepared.encoder.vocab), prepared.task.layout).eval()
    assert copy_weights(model, bundle.model) == 0
    ids = torch.tensor([[5, 6, 7, 8]])
    torch.testing.assert_close(model(ids, torch.tensor([4])), bundle.model(ids, torch.tensor([4])))


def test_new_words_keep_reads_them_as_unknown_and_add_appends_them(saved, tmp_path):
    bundle = load_bundle(saved)
    data = load_data(_warm(saved), _with_new_rows(tmp_path / "new.csv", [(t, "positive", s) for t, _, s in NEW_CLASS]))
    texts = data.splits["train"].texts
    assert warm_encoder(bundle, texts, _warm(saved, new_words="keep")) is bundle.encoder
    grown = warm_encoder(bundle, texts, _warm(saved, new_words="add"))
    old = bundle.encoder.vocab.itos
    assert grown.vocab.itos[: len(old)] == old  # old ids unchanged
    assert set(grown.vocab.itos[len(old):]) == {"zebra", "quokka", "spectacular"}
    assert grown.vocab.itos[len(old)] == "spectacular"  # most frequent new word first

    # the grown embedding keeps the old rows; the new rows are a fresh model's
    cfg = _warm(saved, new_words="add")
    model = build_model(cfg.model, len(grown.vocab), bundle.task.layout)
    assert copy_weights(model, bundle.model) == 1  # only the embedding grew
    old_rows = bundle.model.embedding.weight
    torch.testing.assert_close(model.embedding.weight[: len(old)], old_rows)


def test_added_words_start_from_the_vectors_file_as_a_fresh_models_would(tmp_path):
    from lstmtext.encoding.vector_files import read_vectors

    rng = np.random.default_rng(0)
    with TINY.open(encoding="utf-8") as fh:
        words = {w for row in csv.DictReader(fh) for w in row["text"].lower().split()}
    words |= {"zebra", "quokka", "spectacular"}
    lines = [f"{w} " + " ".join(f"{v:.4f}" for v in rng.normal(size=16)) for w in sorted(words)]
    (tmp_path / "v.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    vectors = ["model.embedding.kind=\"pretrained\"", f"model.embedding.path=\"{tmp_path / 'v.txt'}\""]
    run(build_config(None, overrides=[*SHORT, *vectors]), TINY, tmp_path / "base", progress=False)
    new = _with_new_rows(tmp_path / "new.csv", [(t, "positive", s) for t, _, s in NEW_CLASS])
    warm = build_config(None, overrides=[*SHORT, *vectors, "train.epochs=1", "train.lr=1e-9"],
                        extra={"train": {"init_from": str(tmp_path / "base"), "new_words": "add"}})
    run(warm, new, tmp_path / "warm", progress=False)
    bundle = load_bundle(tmp_path / "warm")
    file_vectors, _ = read_vectors(tmp_path / "v.txt")
    for word in ("zebra", "quokka", "spectacular"):  # they were random +-0.05, their vectors in the file unread
        row = bundle.model.embedding.weight[bundle.encoder.vocab.stoi[word]].detach().numpy()
        np.testing.assert_allclose(row, file_vectors[word], atol=1e-4)


def test_a_new_class_is_refused_by_default_and_added_on_request(saved, tmp_path):
    data_file = _with_new_rows(tmp_path / "new.csv", NEW_CLASS)
    with pytest.raises(DataError, match=r"new\.csv: the training split has labels the model from --init-from \(a "
                                        r"'classify' model\) does not know \('praise'\)\. Pass --new-classes add"):
        run(_warm(saved), data_file, tmp_path / "refused", progress=False)
    assert not (tmp_path / "refused" / "model").exists()

    result = run(_warm(saved, new_classes="add", new_words="add"), data_file, tmp_path / "grown", progress=False)
    old = load_bundle(saved).task.labels
    assert result.task.labels == [*old, "praise"]  # the new output after the old ones
    assert any("continued from" in note and "1 added)" in note for note in result.summary["notes"])
    proba = Predictor.from_bundle(tmp_path / "grown").predict_proba(["zebra quokka spectacular"])
    assert proba.shape == (1, len(old) + 1)
    np.testing.assert_allclose(proba.sum(1), 1.0, rtol=1e-5)


def test_warm_start_starts_from_the_saved_weights_not_from_scratch(saved, tmp_path):
    """One epoch at a tiny learning rate barely moves the weights: the result stays next to the saved model."""
    cfg = build_config(None, overrides=[*SHORT, "train.epochs=1", "train.lr=1e-6", "train.calibrate=false"],
                       extra={"train": {"init_from": str(saved)}})
    result = run(cfg, TINY, None, progress=False)
    saved_model = load_bundle(saved).model
    for name, tensor in result.model.state_dict().items():
        torch.testing.assert_close(tensor, saved_model.state_dict()[name], atol=1e-4, rtol=0)


def test_a_new_max_len_applies_and_an_unset_one_keeps_the_saved_length(saved):
    bundle = load_bundle(saved)
    assert warm_encoder(bundle, [], _warm(saved)) is bundle.encoder
    shorter = build_config(None, overrides=[*SHORT, "vocab.max_len=3"], extra={"train": {"init_from": str(saved)}})
    assert bundle.encoder.max_len > 3 and warm_encoder(bundle, [], shorter).max_len == 3  # it had been ignored
    grown = warm_encoder(bundle, ["@airline zebra quokka"], _warm(saved, new_words="add"))
    assert grown.max_len == bundle.encoder.max_len and "zebra" in grown.vocab


@pytest.mark.parametrize("override, message", [
    ("model.hidden_size=32", r"model\.hidden_size is 16 in the saved model but 32 in this run"),
    ('model.name="cnn"', r"a 'lstm' model, but this run asks for model\.name 'cnn'"),
    ('preprocess.steps=["lowercase"]', r"preprocess\.steps is None in the saved model but \['lowercase'\] in this run"),
    ('vocab.truncating="post"', r"vocab\.truncating is 'pre' in the saved model but 'post' in this run"),
])
def test_another_architecture_or_cleaning_is_refused(saved, override, message):
    cfg = build_config(None, overrides=[*SHORT, override], extra={"train": {"init_from": str(saved)}})
    with pytest.raises(ConfigError, match=message):
        run(cfg, TINY, None, progress=False)


def test_another_task_and_streaming_are_refused(saved, tmp_path):
    cfg = build_config(None, overrides=SHORT, extra={"task": "multilabel", "train": {"init_from": str(saved)}})
    with pytest.raises(ConfigError, match=r"a 'classify' model, but this run is --task multilabel\. Pass --task classify"):
        run(cfg, TINY, None, progress=False)
    with pytest.raises(ConfigError, match=r"--init-from cannot be combined with --stream"):
        run(_warm(saved), TINY, tmp_path / "s", stream=True, progress=False)
    # the command line says so before reading the data as the saved model's task (its columns were the error)
    from lstmtext.pipeline.options import run_config

    with pytest.raises(ConfigError, match=r"a 'classify' model, but this run is --task absa\. Pass --task classify"):
        run_config(None, None, [], task="absa", init_from=saved)


def test_an_aspect_model_cannot_grow_labels(tmp_path, caplog):
    tiny = [*SHORT, "data.split_col=\"split\""]
    base = tmp_path / "absa"
    run(build_config(None, overrides=tiny, extra={"task": "absa"}), ABSA_WIDE, base, progress=False)
    from lstmtext.pipeline.options import run_config

    # without --task the saved model's task is the run's: said, not silent
    assert run_config(None, None, [], init_from=base).task == "absa"
    assert f"--init-from {base} is a model of --task absa: DATA is read and trained as its task's file" in caplog.text
    with ABSA_WIDE.open(encoding="utf-8") as fh:
        lines = list(csv.reader(fh))
    rows = [["harga gila", "neutral", "neutral", "outrageous", "train"]]
    with (tmp_path / "new.csv").open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([*lines, *rows])
    cfg = build_config(None, overrides=tiny, extra={"task": "absa",
                                                  "train": {"init_from": str(base), "new_classes": "add"}})
    with pytest.raises(DataError, match=r"new\.csv: the training split has labels the model from --init-from does not "
                                        r"know \('price:outrageous'\), and a 'absa' model cannot get new outputs\. Use its "
                                        r"labels \('food:negative', .*'price:positive'\), or train a new model without"):
        run(cfg, tmp_path / "new.csv", None, progress=False)
    (tmp_path / "blank.csv").write_text("text,food,service,price,split\nharga gila,neutral,,negative,train\n")
    with pytest.raises(DataError, match=r"blank\.csv:2: aspect 'service' is empty\..*\(read as the --init-from model's "
                                        r"data: task 'absa', text column 'text'; pass --task or --text-col to read it "
                                        r"otherwise\)$"):  # no label column to name: it said "label column 'label'"
        load_data(cfg, tmp_path / "blank.csv")
    from lstmtext.pipeline.options import run_config

    warm = run_config(None, None, ['data.split_col="split"'], init_from=base)  # as `train --init-from` builds it
    with pytest.raises(DataError, match=r"Fill it with a label \('neutral' \(absa\.not_mentioned\) when the text does not "):
        load_data(warm, tmp_path / "blank.csv")  # not 'neut' or 'none': labels the model would then refuse
    # the aspect head's kind shapes the network: a warm start keeps it, as it keeps the model section
    from lstmtext.pipeline.warm_start import load_init

    other = run_config(None, None, ['data.split_col="split"', 'absa.head="attention"'], init_from=base)
    with pytest.raises(ConfigError, match=r"absa\.head is 'shared' in the saved model but 'attention' in this run"):
        load_init(other)
    assert load_init(warm).task.aspects == ["food", "service", "price"]


def test_a_seed_ensemble_continues_member_by_member(tmp_path):
    base = tmp_path / "ens"
    run(build_config(None, overrides=[*SHORT, "model.ensemble=2"]), TINY, base, progress=False)
    saved = load_bundle(base).model
    cfg = build_config(None, overrides=[*SHORT, "model.ensemble=2"], extra={"train": {"init_from": str(base)}})
    prepared = prepare(cfg, load_data(cfg, TINY))
    member = build_model(cfg.model.model_copy(update={"ensemble": 1}), len(prepared.encoder.vocab),
                         prepared.task.layout)
    copy_weights(member, saved, member=1)
    for name, tensor in member.state_dict().items():
        assert torch.equal(tensor, saved.members[1].state_dict()[name])
    assert not torch.equal(saved.members[0].state_dict()["fc.weight"], saved.members[1].state_dict()["fc.weight"])


def test_cli_uses_the_saved_config_and_checks_the_flags(saved, tmp_path):
    runner = CliRunner()
    out = tmp_path / "cli"
    res = runner.invoke(app, ["train", str(TINY), "--split-col", "split", "--init-from", str(saved), "--out", str(out),
                              "--set", "train.epochs=1", "--quiet"])
    assert res.exit_code == 0, res.output
    config = load_bundle(out).config
    assert config.model.hidden_size == 16 and config.train.init_from == str(saved)  # from the saved model, not a preset
    res = runner.invoke(app, ["train", str(TINY), "--new-words", "add", "--out", str(tmp_path / "x")])
    assert isinstance(res.exception, ConfigError) and "give --init-from too" in str(res.exception)
    res = runner.invoke(app, ["train", str(TINY), "--init-from", str(saved), "--new-words", "all",
                              "--out", str(tmp_path / "y")])
    assert isinstance(res.exception, ConfigError) and "train.new_words" in str(res.exception)
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()
    # --set train.init_from is --init-from: the saved model's config, not the default preset's (training review: it was
    # refused as "a model asking for model.name 'lstm'" for a cnn, or trained with the default preset's settings)
    from lstmtext.pipeline.options import run_config

    assert run_config(None, None, [f'train.init_from="{saved}"']).model_dump() == \
        run_config(None, None, [], init_from=saved).model_dump()
    with pytest.raises(ConfigError, match="name two models"):
        run_config(None, None, [f'train.init_from="{tmp_path}"'], init_from=saved)
    lone = run_config(None, None, [*[f"{o}" for o in SHORT], 'train.new_words="add"'])  # a config may hold it: a
    # model saved before this check was made must still load (the diff review: it no longer did) ...
    assert type(lone).model_validate(lone.model_dump(mode="json")).train.new_words == "add"
    with pytest.raises(ConfigError, match=r"train.new_words and train.new_classes say how train.init_from grows"):
        run(lone, TINY, tmp_path / "lone", progress=False)  # ... but a run is refused: it had been ignored
    assert not (tmp_path / "lone").exists()


def test_ngram_bag_rows_stay_with_their_words_and_buckets_when_words_are_added(tmp_path):
    """The bag table is word rows then hashed n-gram buckets: a grown vocabulary must not shift the buckets."""
    base = tmp_path / "bag"
    run(build_config(None, overrides=[*SHORT, "model.ngram_bag=2", "model.ngram_buckets=1024"]), TINY, base,
        progress=False)
    bundle = load_bundle(base)
    data_file = _with_new_rows(tmp_path / "new.csv", [(t, "positive", s) for t, _, s in NEW_CLASS])
    cfg = build_config(None, overrides=[*SHORT, "model.ngram_bag=2", "model.ngram_buckets=1024"],
                       extra={"train": {"init_from": str(base), "new_words": "add"}})
    prepared = prepare(cfg, load_data(cfg, data_file))
    assert len(prepared.encoder.vocab) > len(bundle.encoder.vocab)
    model = build_model(cfg.model, len(prepared.encoder.vocab), prepared.task.layout).eval()
    copy_weights(model, bundle.model)
    ids = torch.tensor(bundle.encoder.encode(["@airline thanks my crew flight service the great"]))
    lengths = torch.tensor([ids.shape[1]])
    torch.testing.assert_close(model.bag_logits(ids, lengths), bundle.model.bag_logits(ids, lengths))
    torch.testing.assert_close(model(ids, lengths), bundle.model(ids, lengths))


def test_ensemble_members_start_from_their_own_saved_member(tmp_path):
    base = tmp_path / "ens"
    over = [*SHORT, "model.ensemble=2", "train.calibrate=false"]
    run(build_config(None, overrides=over), TINY, base, progress=False)
    saved = load_bundle(base).model
    cfg = build_config(None, overrides=[*over, "train.epochs=1", "train.lr=1e-7"],
                       extra={"train": {"init_from": str(base)}})
    result = run(cfg, TINY, None, progress=False)
    for k in (0, 1):
        for name, tensor in result.model.members[k].state_dict().items():
            torch.testing.assert_close(tensor, saved.members[k].state_dict()[name], atol=1e-5, rtol=0)


def test_aspects_in_another_order_are_refused(tmp_path):
    tiny = [*SHORT, "data.split_col=\"split\""]
    base = tmp_path / "absa"
    run(build_config(None, overrides=tiny, extra={"task": "absa"}), ABSA_WIDE, base, progress=False)
    cfg = build_config(None, overrides=tiny, extra={"task": "absa", "absa": {"aspects": ["service", "food", "price"]},
                                                  "train": {"init_from": str(base)}})
    with pytest.raises(DataError, match=r"its aspects \(service, food, price\) differ from the saved model's \(food, service, "
                                        r"price\).*--aspects food,service,price"):
        run(cfg, ABSA_WIDE, None, progress=False)
    import pandas as pd

    fewer = tmp_path / "fewer.csv"  # no price column: "--aspects food,service,price" would fail on it
    pd.read_csv(ABSA_WIDE).drop(columns="price").to_csv(fewer, index=False)
    cfg = build_config(None, overrides=tiny, extra={"task": "absa", "train": {"init_from": str(base)}})
    with pytest.raises(DataError, match=r"it has no price of the saved model's aspects \(food, service, price\); a warm "
                                        r"start trains every one of them\. Add the missing column, or train a new model"):
        run(cfg, fewer, None, progress=False)


def test_added_labels_follow_this_runs_config(saved, tmp_path):
    from lstmtext.pipeline.warm_start import warm_task

    cfg = _warm(saved, new_classes="add")
    task = warm_task(load_bundle(saved), ["praise", "negative"], cfg, "x.csv")
    assert task.config is cfg and task.labels[-1] == "praise"


def test_growth_policies_are_not_inherited_and_frozen_new_words_are_refused(saved, tmp_path):
    from lstmtext.pipeline.options import run_config

    grown = tmp_path / "grown"
    run(_warm(saved, new_classes="add", new_words="add"), _with_new_rows(tmp_path / "n.csv", NEW_CLASS), grown,
        progress=False)
    cfg = run_config(init_from=grown)
    assert (cfg.train.new_words, cfg.train.new_classes, cfg.train.init_from) == ("keep", "error", str(grown))
    frozen = build_config(None, overrides=[*SHORT, 'model.embedding.kind="word2vec"', "model.embedding.freeze=true"],
                          extra={"train": {"init_from": str(saved), "new_words": "add"}})
    with pytest.raises(ConfigError, match="--new-words add with a frozen embedding"):
        run(frozen, TINY, None, progress=False)


def test_a_grown_file_split_afresh_warns_of_the_earlier_models_training_texts(tmp_path):
    import pandas as pd

    from lstmtext.pipeline.seen import fingerprints, read_seen

    words = ["".join(p) for p in __import__("itertools").product("bcdfg", "aeiou", "klm")][:40]  # no digits: cleaned
    texts = [f"good food {w}" for w in words] + [f"bad food {w}" for w in words]
    frame = pd.DataFrame({"text": texts, "label": ["positive"] * 40 + ["negative"] * 40})
    first, grown = tmp_path / "first.csv", tmp_path / "grown.csv"
    frame.iloc[::2].to_csv(first, index=False)
    frame.to_csv(grown, index=False)  # the labelled file plus new rows, as docs/active.md grows it
    overrides = [o for o in SHORT if not o.startswith("data.split_col")]
    run(build_config(None, overrides=overrides), first, tmp_path / "r0", progress=False)
    assert len(read_seen(tmp_path / "r0")) == 32
    assert np.array_equal(read_seen(tmp_path / "r0" / "model"), read_seen(tmp_path / "r0"))
    assert "training_texts" not in " ".join(p.name for p in (tmp_path / "r0" / "model").iterdir())  # shared: none
    warm = build_config(None, overrides=overrides, extra={"train": {"init_from": str(tmp_path / "r0")}})
    notes = prepare(warm, load_data(warm, grown)).notes  # split afresh: the first run's texts land in valid, test
    prepared = prepare(warm, load_data(warm, grown))
    cleaned = {name: prepared.encoder.pipeline.clean_many(s.texts) for name, s in prepared.data.splits.items()}
    said = [n for n in notes if " of the --init-from model" in n]
    earlier = read_seen(tmp_path / "r0")
    from lstmtext.pipeline.seen import count_seen

    expected = [count_seen(cleaned[name], earlier) for name in ("valid", "test")]
    assert all(expected) and [int(n.split(": ")[1].split(" of the ")[0]) for n in said] == expected  # silent before
    # what the continued model has seen: its own training texts and the earlier model's
    assert set(prepared.seen) == set(earlier) | set(fingerprints(cleaned["train"]))
    new_rows = tmp_path / "new.csv"  # continued on the new rows alone: what r0 was trained on is still "seen"
    frame.iloc[1::2].to_csv(new_rows, index=False)
    run(warm, new_rows, tmp_path / "r1", progress=False)
    assert set(earlier) <= set(read_seen(tmp_path / "r1"))
    import shutil

    shutil.copytree(tmp_path / "r0" / "model", tmp_path / "bare")  # a model folder alone: its texts are not known
    bare = build_config(None, overrides=overrides, extra={"train": {"init_from": str(tmp_path / "bare")}})
    run(bare, new_rows, tmp_path / "r2", progress=False)
    assert read_seen(tmp_path / "r2") is None  # so none are claimed (evaluate falls back to the split column)


def test_continuing_on_texts_the_vocabulary_barely_knows_warns(saved, tmp_path):
    import pandas as pd

    other = tmp_path / "id.csv"  # another language: a model of English tweets continued on Indonesian reviews
    pd.DataFrame({"text": [f"makanan nya enak sekali kak nomor {c}" for c in "abcdefghijklmnopqrst"] * 2,
                  "label": ["positive", "negative"] * 20}).to_csv(other, index=False)
    overrides = [o for o in SHORT if not o.startswith("data.split_col")]
    warm = build_config(None, overrides=overrides, extra={"train": {"init_from": str(saved)}})
    notes = prepare(warm, load_data(warm, other)).notes
    said = [n for n in notes if "of the training texts' words" in n]  # silent before
    assert len(said) == 1 and said[0].endswith("pass --new-words add to learn the new words.")
    assert not [n for n in prepare(_warm(saved), load_data(_warm(saved), TINY)).notes if "training texts' words" in n]


def test_a_model_that_started_from_a_language_model_is_continued_without_pretraining_again(saved, tmp_path):
    import json
    import shutil

    from lstmtext.pipeline.checks import check_run
    from lstmtext.pipeline.options import run_config

    ulmfit = tmp_path / "ulmfit"
    shutil.copytree(saved, ulmfit)
    config = json.loads((ulmfit / "model" / "config.json").read_text())
    config["lstmtext"]["train"]["pretrain"] = True  # as `--preset ulmfit` saves it
    (ulmfit / "model" / "config.json").write_text(json.dumps(config))
    cfg = run_config(init_from=ulmfit)
    assert not cfg.train.pretrain and cfg.train.pretrained is None
    check_run(cfg, data=TINY)  # "train.pretrain cannot be combined with --init-from", for a flag never given


def test_a_file_that_does_not_fit_the_saved_model_says_how_it_was_read(saved, tmp_path):
    other = tmp_path / "reviews.csv"
    other.write_text("review,stars\n" + "\n".join(f"ok {i},{i % 2}" for i in range(20)) + "\n")
    with pytest.raises(DataError, match=r"reviews\.csv: no column 'text'.*\(read as the --init-from model's data: task "
                                        r"'classify', text column 'text', label column 'label'; pass --task, --text-col"):
        load_data(_warm(saved), other)


def test_a_handful_of_new_rows_warns_that_valid_and_test_scores_mean_little(saved, tmp_path, caplog):
    few = tmp_path / "few.csv"
    split = ["train"] * 8 + ["valid", "valid", "test", "test"]
    few.write_text("text,label,split\n" + "\n".join(f"@airline row {i} {'great' if i % 2 else 'awful'},"
                                                    f"{'positive' if i % 2 else 'negative'},{split[i]}"
                                                    for i in range(12)) + "\n")
    cfg = _warm(saved)
    prepared = prepare(cfg, load_data(cfg, few))
    for name in ("valid", "test"):
        n = len(prepared.data.splits[name])
        assert any(f"the {name} split holds {n} text" in note and "mostly chance" in note for note in prepared.notes)


def test_a_split_whose_labels_are_all_the_same_is_flagged(tmp_path):
    rows = [f"@airline good {i},positive,train" for i in range(20)] + \
        [f"@airline bad {i},negative,train" for i in range(20)] + \
        [f"@airline ok {i},{'positive' if i % 2 else 'negative'},valid" for i in range(20)] + \
        [f"@airline masked {i},negative,test" for i in range(20)]  # a masked test file: one label everywhere
    path = tmp_path / "d.csv"
    path.write_text("text,label,split\n" + "\n".join(rows) + "\n")
    cfg = build_config(None, overrides=SHORT)
    notes = prepare(cfg, load_data(cfg, path)).notes
    assert any("every test text has the same label ('negative')" in n and "masked" in n for n in notes)
    assert not any("every valid text" in n for n in notes)
    test = tmp_path / "test.csv"  # a --test file: the warning names it, not the training file
    test.write_text("text,label\n" + "\n".join(f"@airline masked {i},negative" for i in range(20)) + "\n")
    notes = prepare(cfg, load_data(cfg, path, test_path=str(test))).notes
    assert any(n.startswith(f"{test}: every test text has the same label") for n in notes), notes



def test_valid_or_test_texts_that_are_training_texts_are_counted(tmp_path):
    train = [f"good food {i},positive" for i in range(20)] + [f"bad food {i},negative" for i in range(20)]
    path, valid, test = tmp_path / "train.csv", tmp_path / "valid.csv", tmp_path / "test.csv"  # no split column
    path.write_text("text,label\n" + "\n".join(train) + "\n")
    # the training file given again, in capitals: the same texts once cleaned (counted on the raw texts, 0)
    valid.write_text("text,label\n" + "\n".join(t.upper().replace("POSITIVE", "positive").replace("NEGATIVE", "negative")
                                               for t in train) + "\n")
    test.write_text("text,label\n" + "\n".join(train[:1] + [f"new {i},positive" for i in range(39)]) + "\n")  # 1 of 40
    cfg = build_config(None, overrides=[o for o in SHORT if not o.startswith("data.split_col")])
    notes = prepare(cfg, load_data(cfg, path, valid_path=valid, test_path=test)).notes
    assert f"{path}: 40 of the 40 valid texts are also training texts (after cleaning), so the valid scores overstate how the model " \
           "does on new texts. Give a valid split without them (a split lstmtext makes: --set data.drop_duplicates=true " \
           "drops repeated rows before splitting)." in notes
    assert not any("test texts are also training texts" in n for n in notes)  # 2.5%: canonical splits share a few
    mentions = [f"@united http://t.co/{i},positive" for i in range(8)]  # each cleans to nothing: no shared text
    path.write_text("text,label\n" + "\n".join(train + mentions[:4]) + "\n")
    test.write_text("text,label\n" + "\n".join(mentions[4:] + [f"new {i},positive" for i in range(36)]) + "\n")
    notes = prepare(cfg, load_data(cfg, path, valid_path=valid, test_path=test)).notes
    assert not any("test texts are also training texts" in n for n in notes)

def test_training_texts_that_clean_to_nothing_are_counted_with_the_first_row(tmp_path):
    rows = [f"good food {i},positive,train" for i in range(20)] + [f"bad food {i},negative,train" for i in range(20)] + \
        ["@someone,negative,train", "https://t.co/x,positive,train"] + \
        [f"ok {i},{'positive' if i % 2 else 'negative'},{'valid' if i < 20 else 'test'}" for i in range(40)]
    path = tmp_path / "d.csv"
    path.write_text("text,label,split\n" + "\n".join(rows) + "\n")
    cfg = build_config(None, overrides=SHORT)
    prepared = prepare(cfg, load_data(cfg, path))
    assert [n for n in prepared.notes if "clean to nothing" in n] == [
        f"{path}: 2 training texts (4.8%) clean to nothing (first: {path}:42: '@someone'); each is read as one unknown "
        "word."]
    assert prepared.train.sequences[40] == prepared.train.sequences[41] == [1]  # <unk>
    assert prepared.train.sequences[:40] == prepared.encoder.encode([r.split(",")[0] for r in rows[:40]])


def test_a_fitted_tfidf_bag_is_silent_while_the_warm_started_network_trains_and_fitted_again(tmp_path, monkeypatch):
    import lstmtext.pipeline.runner as runner
    from lstmtext.training import ngram_fit

    after = [*SHORT, "model.ngram_bag=2", "model.ngram_buckets=4096", "model.ngram_fit=\"after\""]
    with monkeypatch.context() as patch:
        patch.setattr(ngram_fit, "BLEND_GRID", (0.5,))  # the saved model blends in its bag, whatever valid says
        run(build_config(None, overrides=after), TINY, tmp_path / "base", progress=False)
    assert load_bundle(tmp_path / "base").model.bias.abs().sum() > 0  # a fitted bag is saved
    at_start = []
    real_fit = runner.fit

    def spy(model, *args, **kwargs):
        at_start.append((float(model.bag.weight.abs().sum()), float(model.bias.abs().sum())))
        return real_fit(model, *args, **kwargs)

    monkeypatch.setattr(runner, "fit", spy)
    cfg = build_config(None, overrides=after, extra={"train": {"init_from": str(tmp_path / "base")}})
    result = run(cfg, TINY, tmp_path / "warm", progress=False)
    assert at_start == [(0.0, 0.0)]  # the network continued alone, as it first trained
    assert result.summary["ngram_fit"]["members"][0]["valid_scores"]["0.0"] > 0  # then the bag was fitted again


def test_a_vocabulary_size_that_changes_nothing_says_so(saved, caplog):
    """--set vocab.num_words with --init-from was accepted and did nothing, without a word (acceptance check)."""
    import logging

    bundle = load_bundle(saved)
    texts = ["@airline zebra quokka spectacular"]
    with caplog.at_level(logging.WARNING):
        warm_encoder(bundle, texts, build_config(None, overrides=[*SHORT, "vocab.num_words=10"],
                                                 extra={"train": {"init_from": str(saved), "new_words": "keep"}}))
        warm_encoder(bundle, texts, build_config(None, overrides=[*SHORT, "vocab.num_words=10"],
                                                 extra={"train": {"init_from": str(saved), "new_words": "add"}}))
        warm_encoder(bundle, texts, _warm(saved, new_words="add"))  # the saved model's own size: nothing to say
    said = [r.getMessage() for r in caplog.records if r.name == "lstmtext.pipeline.warm_start"
            and r.levelno == logging.WARNING]
    n = len(bundle.encoder.vocab)
    assert said == [f"vocab.num_words = 10 has no effect with train.new_words = keep: the saved vocabulary of {n} words "
                    "is read as it is (--new-words add appends new words up to vocab.num_words)",
                    f"vocab.num_words = 10 is at or below the saved vocabulary's {n} words: no word is added and none "
                    "removed (it caps the whole vocabulary, old words included)"]


def test_a_frozen_random_embedding_stays_frozen_when_continued(tmp_path):
    """model.embedding.freeze with random vectors was honoured by a fresh run only: --init-from trained them (the
    warm start kept its own copy of the rule, which left random vectors out; diff review)."""
    first = tmp_path / "frozen"
    run(build_config(None, overrides=[*SHORT, "model.embedding.freeze=true"]), TINY, first, progress=False)
    table = load_bundle(first).model.embedding.weight.detach().clone()
    warm = build_config(None, overrides=[*SHORT, "model.embedding.freeze=true"], extra={"train": {"init_from": str(first)}})
    run(warm, TINY, tmp_path / "again", progress=False)  # as --init-from continues it: the saved config, frozen
    assert torch.equal(load_bundle(tmp_path / "again").model.embedding.weight, table)
