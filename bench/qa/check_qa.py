#!/usr/bin/env python3
"""Validate bench/qa/corpora_qa.toml against the sample corpus in corpora/.

Rules checked (any violation -> exit status 1):
  * the file parses (tomllib) and has at least MIN_QUESTIONS [[question]] entries, each with
    non-empty string fields id, question, source, answer; ids are unique;
  * `source` is a document under corpora/ (not MANIFEST.toml, not tools/);
  * `answer` is a single line of 3-12 words and occurs verbatim in the source document, exactly
    once (so that it pins one passage);
  * `answer` contains no value listed in corpora/MANIFEST.toml (any file), is not itself part
    of a planted value, and its occurrence in the source does not overlap any planted value;
  * `answer` contains no keyword of the custom deny-lists in policies/custom/*.toml (people,
    customers, code names): Sluice redacts those at ingest, so such an answer could never be
    found in a retrieved chunk (skip with --no-policy-keywords);
  * the question does not contain the answer verbatim;
  * every document in corpora/ is the source of at least one question;
  * `style`, when present, is "lexical" or "paraphrase"; the lexical share is between
    LEXICAL_MIN and LEXICAL_MAX of the questions that declare a style;
  * at least MIN_OFF_TOPIC [[off_topic]] entries with a non-empty `question`.

Usage: python3 bench/qa/check_qa.py [--qa PATH] [--corpora DIR] [--policies DIR]
                                     [--no-policy-keywords] [-v]
Python >= 3.11, standard library only.
"""
from __future__ import annotations

import argparse
import collections
import pathlib
import re
import sys
import tomllib

MIN_QUESTIONS = 36
MIN_OFF_TOPIC = 4
MIN_WORDS, MAX_WORDS = 3, 12
LEXICAL_MIN, LEXICAL_MAX = 0.20, 0.50
QUESTION_KEYS = {"id", "question", "source", "answer", "style"}
STYLES = {"lexical", "paraphrase"}
STOPWORDS = set(
    """a an the of to in on at for by with from and or is are was were be been do does did i we
    my our your you it its this that what which who whom how when where why can should must
    have has had will would there their they them after before into over than then as about
    any much many long if so not no""".split()
)

REPO = pathlib.Path(__file__).resolve().parents[2]


def words(text: str) -> list[str]:
    return re.findall(r"[0-9a-zà-ÿ€$£%]+(?:[.,'’-][0-9a-zà-ÿ]+)*", text.lower())


def content_words(text: str) -> set[str]:
    return {w for w in words(text) if w not in STOPWORDS}


def find_all(haystack: str, needle: str) -> list[int]:
    out, start = [], 0
    while (i := haystack.find(needle, start)) != -1:
        out.append(i)
        start = i + 1
    return out


def load_policy_keywords(policies: pathlib.Path) -> list[tuple[str, str]]:
    """(keyword, detector id) for every keyword detector in policies/custom/*.toml."""
    out = []
    for path in sorted((policies / "custom").glob("*.toml")):
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        for det in data.get("detector", []):
            if det.get("kind") == "keywords":
                out += [(kw, det.get("id", path.name)) for kw in det.get("keywords", [])]
    return out


def keyword_hit(keyword: str, text: str) -> bool:
    # whole-word, case-insensitive, like the keyword detectors' settings
    return re.search(r"(?<!\w)" + re.escape(keyword) + r"(?!\w)", text, re.IGNORECASE) is not None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--qa", type=pathlib.Path, default=REPO / "bench/qa/corpora_qa.toml")
    ap.add_argument("--corpora", type=pathlib.Path, default=REPO / "corpora")
    ap.add_argument("--policies", type=pathlib.Path, default=REPO / "policies")
    ap.add_argument("--no-policy-keywords", action="store_true",
                    help="do not check answers against policies/custom keyword lists")
    ap.add_argument("-v", "--verbose", action="store_true", help="print one line per question")
    args = ap.parse_args()

    errors: list[str] = []
    warnings: list[str] = []

    try:
        qa = tomllib.loads(args.qa.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        print(f"FAIL: cannot read {args.qa}: {exc}")
        return 1
    manifest = tomllib.loads((args.corpora / "MANIFEST.toml").read_text(encoding="utf-8"))
    planted = manifest.get("planted", [])
    planted_values = sorted({p["value"] for p in planted}, key=len, reverse=True)
    planted_by_file: dict[str, set[str]] = collections.defaultdict(set)
    for p in planted:
        planted_by_file[p["file"]].add(p["value"])

    documents = sorted(
        str(p.relative_to(args.corpora)) for p in args.corpora.rglob("*")
        if p.is_file() and p.name != "MANIFEST.toml"
        and p.relative_to(args.corpora).parts[0] != "tools"
    )
    doc_text: dict[str, str] = {}
    for d in documents:
        doc_text[d] = (args.corpora / d).read_text(encoding="utf-8")

    policy_keywords = [] if args.no_policy_keywords else load_policy_keywords(args.policies)
    if not args.no_policy_keywords and not policy_keywords:
        warnings.append(f"no keyword detectors found under {args.policies}/custom; keyword check skipped")

    questions = qa.get("question", [])
    if not isinstance(questions, list):
        errors.append("`question` must be an array of tables ([[question]])")
        questions = []
    if len(questions) < MIN_QUESTIONS:
        errors.append(f"only {len(questions)} questions, need at least {MIN_QUESTIONS}")

    seen_ids: set[str] = set()
    coverage: collections.Counter[str] = collections.Counter()
    styles: collections.Counter[str] = collections.Counter()
    overlap_by_style: dict[str, list[float]] = collections.defaultdict(list)

    for n, q in enumerate(questions, 1):
        qid = q.get("id", f"#{n}")
        tag = f"[{qid}]"
        bad = False
        for key in ("id", "question", "source", "answer"):
            if not isinstance(q.get(key), str) or not q[key].strip():
                errors.append(f"{tag} missing or empty `{key}`")
                bad = True
        unknown = set(q) - QUESTION_KEYS
        if unknown:
            warnings.append(f"{tag} unknown keys: {sorted(unknown)}")
        if bad:
            continue
        question, source, answer = q["question"], q["source"], q["answer"]

        if qid in seen_ids:
            errors.append(f"{tag} duplicate id")
        seen_ids.add(qid)

        style = q.get("style")
        if style is not None:
            if style not in STYLES:
                errors.append(f"{tag} style {style!r} not in {sorted(STYLES)}")
            else:
                styles[style] += 1

        if source not in doc_text:
            errors.append(f"{tag} source {source!r} is not a document under {args.corpora}")
            continue
        coverage[source] += 1
        text = doc_text[source]

        # shape of the answer
        if "\n" in answer or answer != answer.strip():
            errors.append(f"{tag} answer must be one line without surrounding whitespace")
        nwords = len(answer.split())
        if not MIN_WORDS <= nwords <= MAX_WORDS:
            errors.append(f"{tag} answer has {nwords} words, expected {MIN_WORDS}-{MAX_WORDS}: {answer!r}")

        # verbatim and unique in the source
        positions = find_all(text, answer)
        if not positions:
            errors.append(f"{tag} answer not found verbatim in {source}: {answer!r}")
        elif len(positions) > 1:
            errors.append(f"{tag} answer occurs {len(positions)} times in {source}; make it more specific: {answer!r}")

        # planted values: never inside an answer, never the answer inside a value, no overlap
        for value in planted_values:
            if value in answer:
                errors.append(f"{tag} answer contains a planted MANIFEST value {value!r}")
            elif answer in value:
                errors.append(f"{tag} answer is part of a planted MANIFEST value {value!r}")
        for value in planted_by_file.get(source, ()):
            for vpos in find_all(text, value):
                for apos in positions:
                    if apos < vpos + len(value) and vpos < apos + len(answer):
                        errors.append(f"{tag} answer overlaps planted value {value!r} in {source}")

        # custom deny-list keywords would be redacted at ingest
        for kw, det in policy_keywords:
            if keyword_hit(kw, answer):
                errors.append(f"{tag} answer contains {kw!r} from policy {det}; it is redacted at ingest")

        # the question must not simply contain the answer
        if answer.lower() in question.lower():
            errors.append(f"{tag} question contains the answer verbatim")

        aw = content_words(answer)
        overlap = len(aw & content_words(question)) / len(aw) if aw else 0.0
        if style in STYLES:
            overlap_by_style[style].append(overlap)
        if args.verbose:
            print(f"  {qid:5} {style or '-':10} overlap={overlap:4.2f}  {source:45} {answer}")

    # coverage
    uncovered = [d for d in documents if coverage[d] == 0]
    for d in uncovered:
        errors.append(f"document {d} has no question")

    # style mix
    declared = sum(styles.values())
    if declared:
        share = styles["lexical"] / declared
        if not LEXICAL_MIN <= share <= LEXICAL_MAX:
            errors.append(f"lexical share {share:.0%} outside {LEXICAL_MIN:.0%}-{LEXICAL_MAX:.0%}")

    # off-topic
    off = qa.get("off_topic", [])
    if not isinstance(off, list):
        errors.append("`off_topic` must be an array of tables ([[off_topic]])")
        off = []
    off_ok = [o for o in off if isinstance(o.get("question"), str) and o["question"].strip()]
    if len(off_ok) != len(off):
        errors.append("every [[off_topic]] needs a non-empty `question`")
    if len(off_ok) < MIN_OFF_TOPIC:
        errors.append(f"only {len(off_ok)} off-topic questions, need at least {MIN_OFF_TOPIC}")
    all_q = [q.get("question", "").strip().lower() for q in questions] + [o["question"].strip().lower() for o in off_ok]
    dupes = [k for k, c in collections.Counter(all_q).items() if c > 1]
    for d in dupes:
        errors.append(f"duplicate question text: {d!r}")

    # report
    print(f"questions: {len(questions)}  off-topic: {len(off_ok)}")
    print(f"documents covered: {len(documents) - len(uncovered)}/{len(documents)}")
    per_doc = ", ".join(f"{d}={coverage[d]}" for d in documents)
    print(f"per document: {per_doc}")
    if declared:
        print(f"style: lexical {styles['lexical']} ({styles['lexical'] / declared:.0%}), "
              f"paraphrase {styles['paraphrase']} ({styles['paraphrase'] / declared:.0%})")
        for s in sorted(overlap_by_style):
            vals = overlap_by_style[s]
            print(f"  mean answer-word overlap with question, {s}: {sum(vals) / len(vals):.2f}")
    print(f"manifest values checked: {len(planted_values)}; policy keywords checked: {len(policy_keywords)}")
    for w in warnings:
        print(f"WARN: {w}")
    for e in errors:
        print(f"FAIL: {e}")
    print("OK" if not errors else f"{len(errors)} error(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
