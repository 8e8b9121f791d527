"""Shared case builder of the held-out PERSON sets (`holdout_person.py`, `holdout_person2.py`).

Each set is data (names, sentence shapes, negatives) and a seed; this module turns it into
labelled cases in the `sluice eval policy --cases` format (UTF-8 byte offsets).
"""

import json
import random
from pathlib import Path


def build(seed, first, last, one, pairs, shapes, negatives):
    """Three cases per shape: one full name per `one` shape, two per `pairs` shape, the part a
    `shapes` entry names (`f` first, `l` last, `fl`, `lf` as "Last, First", `il` "J. Doe");
    then every negative as a case without spans."""
    rng = random.Random(seed)
    cases = []

    def full():
        return f"{rng.choice(first)} {rng.choice(last)}"

    def add(text, names):
        spans, pos = [], 0
        for n in names:
            s = text.index(n, pos)
            spans.append({"start": len(text[:s].encode()), "end": len(text[: s + len(n)].encode()), "entity": "PERSON"})
            pos = s + len(n)
        cases.append({"text": text, "spans": spans})

    for t in one:
        for _ in range(3):
            n = full()
            add(t.format(n=n), [n])
    for t in pairs:
        for _ in range(3):
            a, b = full(), full()
            while b == a:
                b = full()
            add(t.format(a=a, b=b), [a, b])
    for t, parts in shapes:
        for _ in range(3):
            f, l = rng.choice(first), rng.choice(last)
            gold = {"f": f, "l": l, "lf": f"{l}, {f}", "il": f"{f[0]}. {l}", "fl": f"{f} {l}"}[parts]
            add(t.format(f=f, l=l, i=f[0]), [gold])
    for t in negatives:
        cases.append({"text": t, "spans": []})
    return cases


def write(out: Path, cases) -> None:
    out.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in cases), encoding="utf-8")
    print(f"{out}: {len(cases)} cases, {sum(len(c['spans']) for c in cases)} names")
