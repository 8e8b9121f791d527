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

# A RAG-sized prompt (~1,100 tokens: four sources the way Sluice's answer path fences them,
# then the question): its time to first token is the prefill time the answer path pays.
# Fixed text written for the bench (no corpus data), so figures stay comparable over time.
LONG_SOURCES = [
    ("runbooks/backup-restore.md", "Backup and restore > 2. Schedule",
     "Nightly backups of the orders database start at 01:00 UTC and run for about forty "
     "minutes. A full base backup is taken every Sunday; on the other nights the job ships "
     "only the write-ahead log segments written since the last base backup. Backups are "
     "written to the object store bucket of the backup account, encrypted with the backup "
     "key that the platform team rotates every ninety days. The job reports to the "
     "monitoring system when it starts and when it ends; a run that has not reported its "
     "end by 03:00 UTC pages the on-call engineer of the storage team. Retention is thirty "
     "five days for nightly backups and one year for the first base backup of each month. "
     "The retention rules are enforced by the object store's lifecycle policy, not by the "
     "backup job, so deleting the job does not delete backups. Restores are tested every "
     "month on a scratch cluster: the test restores the latest base backup, replays the "
     "log to a point in time chosen at random within the last week, and runs the "
     "consistency checks of the orders service against the restored copy. The result of "
     "each test is written to the restore log with the duration of each step."),
    ("runbooks/backup-restore.md", "Backup and restore > 5. Point-in-time restore",
     "To restore the orders database to a point in time, first declare an incident and "
     "name an incident commander; a restore replaces data and must never be started by "
     "one person alone. Stop the writers: scale the orders API and the settlement workers "
     "to zero replicas and wait until the connection count of the database drops to zero. "
     "Create a new cluster from the latest base backup taken before the target time, using "
     "the restore template of the infrastructure repository, and set the recovery target "
     "time to the chosen point, in UTC. Start the cluster and follow the replay in its log; "
     "replay ends when the target time is reached and the cluster is promoted. Run the "
     "consistency checks against the new cluster. When they pass, switch the service "
     "endpoint of the orders database to the new cluster, scale the orders API and the "
     "settlement workers back to their usual replica counts, and watch the error rate for "
     "fifteen minutes. Keep the old cluster stopped, not deleted, for seven days, so that "
     "data written after the target time can still be recovered by hand if needed."),
    ("handbook/oncall.md", "On-call > Escalation",
     "The on-call engineer acknowledges a page within five minutes and starts working on "
     "it within fifteen. If the page is about data loss or a restore, the engineer calls "
     "the storage team lead at once, day or night, and opens an incident channel. Every "
     "incident has one commander, who decides and communicates, and one or more responders, "
     "who act. The commander posts a status update every thirty minutes in the incident "
     "channel and on the status page when customers are affected. After the incident, the "
     "commander writes a review within five working days: what happened, how it was found, "
     "what was done, and which actions will prevent it from happening again. Reviews are "
     "blameless: they describe systems and decisions, not people. Actions from a review "
     "get an owner and a due date and are tracked in the reliability board, which the "
     "engineering managers go through every second week."),
    ("policies/data-retention.md", "Data retention > Databases",
     "Production databases hold customer data and fall under the data retention policy. "
     "Copies of a production database, including restored copies on scratch clusters, "
     "must stay in the production account and are deleted within fourteen days of their "
     "creation unless the data protection officer approves a longer period in writing. "
     "Engineers may read a restored copy only to check that the restore worked or to "
     "recover data lost in an incident; any other use, such as testing a new feature or "
     "training a model, needs anonymised data from the data platform instead. Access to "
     "restored copies is granted for the duration of the incident through the access "
     "request tool and removed automatically when the incident is closed. Every access is "
     "logged, and the security team reviews the log of each restore test and incident once "
     "a month. When a restore recovers data that had been deleted on a customer's request, "
     "that data must be deleted again before the restored cluster is put into service, and "
     "the deletion is recorded in the incident review."),

]
LONG_QUESTION = "How do I restore the orders database to a point in time, and who must be told?"


def long_prompt() -> str:
    fenced = "\n\n".join(
        f'<source id="{i}" title="{path} > {heading}">\n{text}\n</source>'
        for i, (path, heading, text) in enumerate(LONG_SOURCES, start=1)
    )
    return (f"{fenced}\n\nQuestion: {LONG_QUESTION}\n"
            "Answer from the sources above and cite the source of each fact like this: [1].")


#: Index of the long prompt in the prompts file (the last one).
LONG = len(PROMPTS)


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
    print(f"(TTFT and decode over the {LONG} short prompts; prefill = TTFT of the RAG-sized prompt)")
    print(f"{'engine':52} {'load s':>7} {'RSS MB':>7} {'HWM MB':>7} {'TTFT s (med, range)':>22} "
          f"{'decode tok/s (med, range)':>27} {'prefill s (med, range)':>24}")
    summary = {}
    for eng, rs in by.items():
        runs = [x for r in rs for x in r["runs"]]
        short = [x for x in runs if x["prompt"] != LONG]
        ttft = [x["ttft_s"] for x in short]
        dec = [x["decode_tok_s"] for x in short if x["chunks"] > 1]
        pre = [x["ttft_s"] for x in runs if x["prompt"] == LONG]
        summary[eng] = (med(dec), med(pre))
        print(f"{eng:52} {med([r['load_s'] for r in rs]):7.2f} "
              f"{med([r['rss_mb_after_load'] for r in rs]):7.0f} {med([r['hwm_mb'] for r in rs]):7.0f} "
              f"{med(ttft):10.3f} {rng(ttft):>11} {med(dec):13.1f} {rng(dec):>13} "
              f"{med(pre):10.2f} {rng(pre):>13}")
    tokens = {x.get("prompt_tokens") for r in rows for x in r["runs"] if x["prompt"] == LONG}
    tokens.discard(None)
    if tokens:
        print(f"RAG-sized prompt: {', '.join(map(str, sorted(tokens)))} prompt tokens (chat template included)")
    ours = [e for e in summary if e.startswith("sluice")]
    peers = [e for e in summary if not e.startswith("sluice")]
    if ours and peers:
        (d1, p1), (d2, p2) = summary[ours[0]], summary[peers[0]]
        print(f"sluice-llm / llama.cpp: decode {d1 / d2:.2f}x, prefill speed {p2 / p1:.2f}x")
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
        Path(args.out).write_text(json.dumps([*PROMPTS, long_prompt()], indent=1))
    elif args.cmd == "bench":
        bench(args)
    else:
        table(args)


if __name__ == "__main__":
    main()
