#!/usr/bin/env python3
"""llama.cpp (llama-cpp-python) side of `bench/llm_peers.sh`, plus the prompts and the table.

  bench/llm_peers.py prompts --out F       write the benchmark prompts (a JSON array)
  bench/llm_peers.py bench --model M --prompts F [--threads 2] [--max-tokens 64]
                                           one JSON line: load time, memory, and per prompt
                                           the time to first token and the decode rate
  bench/llm_peers.py table F.jsonl         side-by-side summary of the runs in F.jsonl

`bench` needs llama-cpp-python: the first run makes a venv ($LLM_VENV, default
bench/out/.venv-llm, git-ignored) and pip-installs it from source with the machine's
compiler (CMAKE_ARGS=-DGGML_NATIVE=ON: tuned to this CPU, as llama.cpp is normally
built), then re-runs itself inside it. That build takes several minutes on 2 cores.
`prompts` and `table` need only the standard library.

Both engines are measured the same way: greedy decoding, the GGUF's own chat template,
one user message per prompt, time to the first streamed piece (TTFT), and decode rate =
(pieces - 1) / (time of last piece - time of first piece).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
VENV = Path(os.environ.get("LLM_VENV", HERE / "out" / ".venv-llm"))
REQUIREMENT = "llama-cpp-python==0.3.36"

PROMPTS = [
    "What is the capital of France? Answer in one word.",
    "Explain in two sentences what a firewall does.",
    "Write a short poem about a river at night.",
    "Context: The Sluice gateway redacts personal data such as e-mail addresses and "
    "API keys before any document reaches the model. Only redacted text is indexed.\n\n"
    "Question: What does the gateway do before a document reaches the model?",
    "List five fruits, one per line.",
]


def proc_mb(field: str) -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


def ensure_venv() -> None:
    """Re-runs this script inside the venv, creating it first if needed."""
    if Path(sys.prefix).resolve() == VENV.resolve():
        return
    py = VENV / "bin" / "python"
    if not py.exists():
        print(f"== creating {VENV} and building {REQUIREMENT} (minutes)", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        env = dict(os.environ, CMAKE_ARGS="-DGGML_NATIVE=ON", CMAKE_BUILD_PARALLEL_LEVEL="2")
        subprocess.run(
            [str(py), "-m", "pip", "install", "--no-cache-dir", REQUIREMENT],
            check=True, env=env, stdout=sys.stderr,
        )
    os.execv(str(py), [str(py), __file__, *sys.argv[1:]])


def bench(args: argparse.Namespace) -> None:
    ensure_venv()
    import llama_cpp  # noqa: PLC0415 (only inside the venv)

    prompts = json.loads(Path(args.prompts).read_text())
    t0 = time.perf_counter()
    llm = llama_cpp.Llama(
        model_path=args.model, n_threads=args.threads, n_threads_batch=args.threads,
        n_ctx=4096, seed=0, verbose=False,
    )
    load_s = time.perf_counter() - t0
    rss_after_load = proc_mb("VmRSS:")
    runs = []
    for i, prompt in enumerate(prompts):
        start = time.perf_counter()
        first = last = None
        chunks, text, finish = 0, [], None
        for ch in llm.create_chat_completion(
            messages=[{"role": "user", "content": prompt}],
            max_tokens=args.max_tokens, temperature=0.0, stream=True,
        ):
            choice = ch["choices"][0]
            piece = choice.get("delta", {}).get("content")
            if piece:
                now = time.perf_counter() - start
                first = now if first is None else first
                last = now
                chunks += 1
                text.append(piece)
            finish = choice.get("finish_reason") or finish
        decode = (chunks - 1) / (last - first) if chunks > 1 and last > first else 0.0
        runs.append({
            "prompt": i, "ttft_s": first, "decode_tok_s": decode, "chunks": chunks,
            "total_s": time.perf_counter() - start, "finish": finish, "text": "".join(text),
        })
    print(json.dumps({
        "engine": f"llama.cpp (llama-cpp-python {llama_cpp.__version__}, native build)",
        "model": Path(args.model).stem, "threads": str(args.threads), "load_s": load_s,
        "rss_mb_after_load": rss_after_load, "rss_mb_end": proc_mb("VmRSS:"),
        "hwm_mb": proc_mb("VmHWM:"), "runs": runs,
    }), flush=True)


def table(args: argparse.Namespace) -> None:
    rows = [json.loads(line) for line in Path(args.file).read_text().splitlines() if line.strip()]
    by: dict[str, list[dict]] = {}
    for r in rows:
        by.setdefault(r["engine"], []).append(r)

    def med(xs):
        xs = [x for x in xs if x is not None]
        return statistics.median(xs) if xs else float("nan")

    def rng(xs):
        xs = [x for x in xs if x is not None]
        return f"{min(xs):.2f}-{max(xs):.2f}" if xs else "-"

    if not rows:
        sys.exit(f"no runs in {args.file}")
    r0 = rows[0]
    print(f"\nmodel {r0['model']}, threads {r0['threads']}, {len(r0['runs'])} prompts, "
          f"greedy, runs per engine: {len(next(iter(by.values())))}")
    print(f"{'engine':52} {'load s':>7} {'RSS MB':>7} {'HWM MB':>7} {'TTFT s (med, range)':>22} "
          f"{'decode tok/s (med, range)':>27}")
    for eng, rs in by.items():
        runs = [x for r in rs for x in r["runs"]]
        ttft = [x["ttft_s"] for x in runs]
        dec = [x["decode_tok_s"] for x in runs if x["chunks"] > 1]
        print(f"{eng:52} {med([r['load_s'] for r in rs]):7.2f} "
              f"{med([r['rss_mb_after_load'] for r in rs]):7.0f} {med([r['hwm_mb'] for r in rs]):7.0f} "
              f"{med(ttft):10.3f} {rng(ttft):>11} {med(dec):13.1f} {rng(dec):>13}")
    if len(by) == 2:
        (a, ra), (b, rb) = by.items()
        same = sum(x["text"].strip() == y["text"].strip() for x, y in zip(ra[-1]["runs"], rb[-1]["runs"]))
        print(f"same greedy answer in both engines: {same}/{len(ra[-1]['runs'])} prompts")
        for x, y in zip(ra[-1]["runs"], rb[-1]["runs"]):
            print(f"  prompt {x['prompt']}: {x['text'][:60]!r}\n{'':12}{y['text'][:60]!r}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("prompts")
    p.add_argument("--out", required=True)
    b = sub.add_parser("bench")
    b.add_argument("--model", required=True)
    b.add_argument("--prompts", required=True)
    b.add_argument("--threads", type=int, default=2)
    b.add_argument("--max-tokens", type=int, default=64)
    t = sub.add_parser("table")
    t.add_argument("file")
    args = ap.parse_args()
    if args.cmd == "prompts":
        Path(args.out).write_text(json.dumps(PROMPTS, indent=1))
    elif args.cmd == "bench":
        bench(args)
    else:
        table(args)


if __name__ == "__main__":
    main()
