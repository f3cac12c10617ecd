"""Label efficiency: test macro-F1 against the share of training labels, with and without a pretrained language model.

For each data set, one language model is pretrained (`lstmtext pretrain`, the `ulmfit` preset's settings) on
every training text, read as unlabelled text: no label, no valid or test text. Then, for each share of the
training labels (a stratified sample per seed; the rest of the training texts are the unlabelled ones the
language model already read), four models are trained on the labelled share, picked on the canonical valid
split and scored once on test:

* `default` preset from scratch (lstmtext's tuned short-text BiLSTM);
* `ulmfit`: the `ulmfit` preset's network alone (`model.ngram_bag=0`), started from the language model
  (`--pretrained LM`, no further LM epochs);
* `ulmfit_tfidf`: the preset as it is, with its TF-IDF + logistic regression path fitted after the network and
  blended with it on valid (`model.ngram_bag=2`, `model.ngram_fit="after"`; not in the default `--models`);
* `ulmfit_self`: `ulmfit_tfidf` with self-training (`train.self_training=0.5`): the rest of the training texts
  are given as `--unlabelled`, the trained model answers them, and the surest half of each answer trains a second
  model with the labelled share (kept if it scores at least as well on valid; shares below 100% only; not in
  the default `--models`);
* TF-IDF word 1-2-grams + logistic regression (``lstmtext.experiments.baselines.tfidf_logreg``: C chosen on
  valid from 0.25 to 16384);
* fastText supervised (``lstmtext.experiments.baselines.tuned_fasttext``: bigrams, dim 50, one thread, the epochs
  (10, 25, 50) and learning rate (0.1, 0.5, 1.0) chosen on valid; `fasttext-numpy2`).

Each baseline's record keeps what valid chose (``C``; fastText's ``params``) and its valid macro-F1.

Results go to OUT/results.jsonl (one line per model, share and seed; a rerun skips what is there), OUT/table.md
and OUT/label_efficiency.png. Each record and each language model carries a fingerprint of the settings it was
made with (the `ulmfit` config after the data set's settings and --lm-set, the cleaning chain written out): a
rerun into an OUT made with other settings (a changed cleaning preset, another --lm-set) stops instead of
reusing its language model and skipping its records.

    .venv/bin/python studies/label_efficiency.py --out runs/study-label-efficiency \\
        --datasets airline,smsa --shares 0.1,1.0 --seeds 0,1,2

The data sets are read from $LSTMTEXT_SHARED_DATA (default ../shared/data; docs/data.md names their sources).
"""

from __future__ import annotations

import argparse
import json
import statistics
from dataclasses import replace
from pathlib import Path

import numpy as np
from common import DATA, ROOT, smsa_csv  # studies/common.py
from sklearn.metrics import f1_score
from sklearn.model_selection import train_test_split

from lstmtext.config import build_config
from lstmtext.data import LabelledData, load_bundled_airline
from lstmtext.experiments.baselines import tfidf_logreg, tuned_fasttext
from lstmtext.pipeline import run
from lstmtext.pipeline.language_model import pretrain
from lstmtext.pipeline.prepare import load_data
from lstmtext.preprocess import build_pipeline
from lstmtext.tasks import get_task

# name: (cleaning and length settings for every model, loader)
SETTINGS = {
    "airline": ['preprocess.preset="en-tweet"'],
    "smsa": ['preprocess.preset="id-review"', "vocab.max_len=128"],
    "news": ['preprocess.preset="id-news"', "vocab.min_freq=1"],
    "ntc": ['preprocess.preset="vi-review"', "vocab.max_len=256"],
}


MODELS = ("default", "ulmfit", "ulmfit_tfidf", "ulmfit_self", "tfidf_logreg", "fasttext")
#: The records' version: 2 since 2026-12-07 (baselines tuned on valid as above; `ulmfit` the network alone). A
#: rerun skips only this version's records and runs again what an older one measured; the table reads the newest.
VERSION = 2
TITLES = {"airline": "airline tweets (English)", "smsa": "IndoNLU SmSA (Indonesian)",
          "news": "news titles (Indonesian)", "ntc": "NTC-SCV reviews (Vietnamese)"}


def load(name: str, out: Path) -> LabelledData:
    """The data set's train / valid / test splits (canonical where the data set has them)."""
    if name == "airline":
        return load_bundled_airline()
    if name == "smsa":
        path = smsa_csv(out)
        if path is None:
            raise SystemExit("SmSA is missing (see above)")
        return load_data(build_config(None, extra={"data": {"split_col": "split"}}), path)
    if name == "news":
        folder = DATA / "indonesian-news-title"
        cfg = build_config(None, extra={"data": {"text_col": "title", "label_col": "category"}})
        return load_data(cfg, folder / "detik-news-title-balanced.csv", split_file=folder / "split.csv")
    if name == "ntc":
        # no split column: lstmtext's own seeded stratified 80/10/10 split (data.split_seed 42), as in docs/compare.md
        cfg = build_config(None, extra={"data": {"text_col": "text", "label_col": "label"}})
        return load_data(cfg, DATA / "ntc-scv" / "reviews.csv")
    raise ValueError(name)  # main refuses an unknown name first


def fingerprint(settings: list[str], lm_set: list[str]) -> str:
    """A short hash of what a data set's runs depend on besides the code: the `ulmfit` config with the data set's
    settings and --lm-set, its cleaning chain written out (a preset whose steps changed changes it)."""
    import hashlib

    from lstmtext.preprocess.presets import resolved_preprocess

    config = build_config("ulmfit", overrides=[*settings, *lm_set]).model_dump(mode="json")
    config["preprocess"] = resolved_preprocess(config["preprocess"])
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:12]


def check_same_settings(name: str, folder: Path, records: list[dict], settings: str) -> None:
    """Stop where OUT holds this data set's language model or records made with other settings."""
    made = folder / "lm" / "study_settings.txt"
    other = sorted({r.get("settings", "unknown") for r in records if r["dataset"] == name} - {settings})
    if made.exists() and made.read_text().strip() != settings:
        other.append(f"language model {made.read_text().strip()}")
    elif (folder / "lm" / "lm.json").exists() and not made.exists():
        other.append("language model of unknown settings")
    if other:
        raise SystemExit(f"{folder.parent}: holds {name} results made with other settings ({', '.join(other)}; now "
                         f"{settings}): their language model and records would be reused or mixed in. Give another "
                         "--out, or remove them.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "study-label-efficiency")
    parser.add_argument("--datasets", default="airline,smsa,news,ntc")
    parser.add_argument("--shares", default="0.01,0.05,0.1,0.25,1.0")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--models", default="default,ulmfit,tfidf_logreg,fasttext")
    parser.add_argument("--lm-set", action="append", default=[], help="extra --set for the language model")
    args = parser.parse_args()
    unknown = sorted(set(args.models.split(",")) - set(MODELS))
    if unknown:
        raise SystemExit(f"--models: unknown {', '.join(unknown)}; choose from {', '.join(MODELS)}")
    args.out.mkdir(parents=True, exist_ok=True)
    log = args.out / "results.jsonl"
    earlier = [r for r in map(json.loads, log.open()) if r.get("version", 1) == VERSION] if log.exists() else []
    done = {(r["dataset"], r["model"], r["share"], r["seed"]) for r in earlier}
    for name in args.datasets.split(","):
        if name not in SETTINGS:
            raise SystemExit(f"unknown data set {name!r}: choose from {', '.join(SETTINGS)}")
        settings, folder = SETTINGS[name], args.out / name
        made_with = fingerprint(settings, args.lm_set)
        check_same_settings(name, folder, earlier, made_with)
        data = load(name, args.out)
        folder.mkdir(exist_ok=True)
        lm = folder / "lm"
        if "ulmfit" in args.models and not (lm / "lm.json").exists():
            texts = folder / "train_texts.txt"
            texts.write_text("\n".join(" ".join(t.split()) for t in data.splits["train"].texts) + "\n", encoding="utf-8")
            pretrain(build_config("ulmfit", overrides=[*settings, *args.lm_set]), texts, lm, overwrite=True)
            (lm / "study_settings.txt").write_text(made_with + "\n")
        clean = build_pipeline(build_config(None, overrides=settings)).clean_many
        train = data.splits["train"]
        for share in [float(s) for s in args.shares.split(",")]:
            for seed in [int(s) for s in args.seeds.split(",")]:
                if share < 1:
                    keep, _ = train_test_split(np.arange(len(train)), train_size=share, stratify=train.labels,
                                               random_state=seed)
                    part = replace(data, splits={**data.splits, "train": train.take(sorted(keep.tolist()))})
                else:
                    part = data
                for model in args.models.split(","):
                    if (name, model, share, seed) in done or (model == "ulmfit_self" and share == 1):
                        continue
                    record = {"dataset": name, "model": model, "share": share, "seed": seed,
                              "labels": len(part.splits["train"]), "version": VERSION, "settings": made_with}
                    if model in ("default", "ulmfit", "ulmfit_tfidf", "ulmfit_self"):
                        extra = [*settings, f"train.seed={seed}"]
                        if model.startswith("ulmfit"):
                            extra += [f'train.pretrained="{lm}"', "lm.finetune_epochs=0"]
                        if model == "ulmfit":  # the network alone: the preset's own TF-IDF path is ulmfit_tfidf
                            extra += ["model.ngram_bag=0", 'model.ngram_fit="joint"']
                        if model in ("ulmfit_tfidf", "ulmfit_self"):
                            extra += ["model.ngram_bag=2", 'model.ngram_fit="after"']
                        if model == "ulmfit_self":  # the training texts without their labels, as --unlabelled
                            rest, labelled = folder / f"unlabelled_{share}_{seed}.txt", set(keep.tolist())
                            rest.write_text("\n".join(" ".join(t.split()) for i, t in enumerate(train.texts)
                                                      if i not in labelled) + "\n", encoding="utf-8")
                            extra += ["train.self_training=0.5", f'data.unlabelled="{rest}"']
                        result = run(build_config(model.split("_")[0], overrides=extra), part, None, progress=False)
                        record.update(valid=result.metrics["valid"]["macro_f1"], test=result.metrics["test"]["macro_f1"],
                                      seconds=result.summary["train_seconds"])
                        for split in ("valid", "test"):  # trust (#16): accuracy gain on the 90% most confident, ECE
                            cal = result.metrics[split]["calibration"]
                            record[f"{split}_gain90"] = cal["coverage_table"]["90%"]["accuracy"] - cal["accuracy"]
                            record[f"{split}_ece"] = cal["ece_after"]
                        if "self_training" in result.summary:  # the teacher's and the student's valid scores
                            st = result.summary["self_training"]
                            record.update(teacher=st["teacher"], student=st.get("student"), kept=st["kept"],
                                          pseudo=st["added"], seconds=st["teacher_seconds"] + st.get("student_seconds", 0))
                        if "ngram_fit" in result.summary:  # the network's own valid score, before the blend
                            first = result.summary["ngram_fit"]["members"][0]
                            record.update(valid_network=first["valid_scores"]["0.0"], blend=first["blend"],
                                          linear_seconds=result.summary["ngram_fit"]["seconds"])
                    else:
                        cleaned = replace(part, splits={k: replace(v, texts=clean(v.texts)) for k, v in part.splits.items()})
                        if model == "tfidf_logreg":
                            task = get_task("classify").from_data(cleaned, build_config(None))
                            found = tfidf_logreg(cleaned, task, seed=seed)
                            record.update(valid=found["valid_macro_f1"], test=found["metrics"]["macro_f1"], C=found["C"])
                        else:
                            s = cleaned.splits
                            predict, params, valid = tuned_fasttext((s["train"].texts, s["train"].labels),
                                                                    (s["valid"].texts, s["valid"].labels), seed)
                            record.update(valid=valid, params=params,
                                          test=float(f1_score(list(s["test"].labels), list(predict(s["test"].texts)),
                                                              average="macro")))
                    print(json.dumps(record), flush=True)
                    with log.open("a") as fh:
                        fh.write(json.dumps(record) + "\n")
    report(log, args.out)


def report(log: Path, out: Path) -> None:
    """A table of mean +- std test macro-F1 per data set, share and model, and one plot per data set."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    newest: dict[tuple, dict] = {}  # per run, the record of the newest version (a rerun's replaces an older one)
    for r in map(json.loads, log.open()):
        key = (r["dataset"], r["model"], r["share"], r["seed"])
        if r.get("version", 1) >= newest.get(key, {}).get("version", 1):
            newest[key] = r
    rows = list(newest.values())
    groups: dict[tuple, list[float]] = {}
    for r in rows:
        groups.setdefault((r["dataset"], r["share"], r["model"]), []).append(r["test"])
    lines = ["| data set | labels | model | test macro-F1 | seeds |", "| --- | ---: | --- | ---: | ---: |"]
    for (ds, share, model), values in sorted(groups.items()):
        spread = f" ± {statistics.stdev(values):.4f}" if len(values) > 1 else ""
        lines.append(f"| {ds} | {share:.0%} | {model} | {statistics.mean(values):.4f}{spread} | {len(values)} |")
    (out / "table.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    datasets = sorted({r["dataset"] for r in rows})
    fig, axes = plt.subplots(1, len(datasets), figsize=(5 * len(datasets), 4), squeeze=False)
    for ax, ds in zip(axes[0], datasets):
        for model in sorted({m for d, _, m in groups if d == ds}):
            points = sorted((s, statistics.mean(v), statistics.stdev(v) if len(v) > 1 else 0.0)
                            for (d, s, m), v in groups.items() if d == ds and m == model)
            xs, ys, es = zip(*points)
            ax.errorbar(xs, ys, yerr=es, marker="o", capsize=3, label=model)
        ax.set_xscale("log")
        shares = sorted({s for d, s, _ in groups if d == ds})
        ax.set_xticks(shares, [f"{s:.0%}" for s in shares])
        ax.minorticks_off()
        ax.set_xlabel("share of training labels")
        ax.set_ylabel("test macro-F1 (mean ± std over seeds)")
        ax.set_title(TITLES.get(ds, ds))
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(out / "label_efficiency.png", dpi=120)


if __name__ == "__main__":
    main()
