"""Time to first token and decode tokens/s through the gateway (SSE chat, no RAG), beside the
generator called directly (llm_bench's JSON), same prompts, greedy, 64 tokens. Stdlib only.

    python3 bench/gateway_stream.py URL PROMPTS.json DIRECT.json     (key in $SLUICE_KEY)
"""

import json
import os
import statistics
import sys
import time
import urllib.request


def one(url: str, key: str, prompt: str) -> dict:
    body = json.dumps({
        "model": "sluice",
        "messages": [{"role": "user", "content": prompt}],
        "max_tokens": 64,
        "temperature": 0,
        "stream": True,
        "sluice": {"rag": False},
    }).encode()
    req = urllib.request.Request(
        f"{url}/v1/chat/completions", data=body, method="POST",
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    start = time.perf_counter()
    first = last = None
    tokens = 0
    events = 0
    with urllib.request.urlopen(req, timeout=120) as resp:
        for raw in resp:
            line = raw.decode().strip()
            if not line.startswith("data:") or line == "data: [DONE]":
                continue
            ev = json.loads(line[5:])
            if "error" in ev:
                raise SystemExit(f"stream error: {ev['error']}")
            ch = ev["choices"][0] if ev.get("choices") else {}
            if ch.get("delta", {}).get("content"):
                events += 1
                now = time.perf_counter() - start
                first = first if first is not None else now
                last = now
            if ev.get("usage"):
                tokens = ev["usage"]["completion_tokens"]
    decode = (tokens - 1) / (last - first) if first is not None and last > first and tokens > 1 else 0.0
    return {"ttft_s": first, "decode_tok_s": decode, "completion_tokens": tokens,
            "content_events": events, "total_s": time.perf_counter() - start}


def main() -> None:
    url, prompts_path, direct_path = sys.argv[1:4]
    key = os.environ["SLUICE_KEY"]
    prompts = json.load(open(prompts_path))
    direct = json.load(open(direct_path))["runs"]
    one(url, key, prompts[0])  # warm-up
    via = [one(url, key, p) for p in prompts]
    for r in via:
        print("  via gateway:", r, file=sys.stderr)
    med = lambda rows, k: statistics.median(r[k] for r in rows if r[k])
    for rows in (direct, via):
        for r in rows:
            r["e2e_tok_s"] = (r["completion_tokens"] or 0) / r["total_s"]
    d_ttft, g_ttft = med(direct, "ttft_s"), med(via, "ttft_s")
    d_e2e, g_e2e = med(direct, "e2e_tok_s"), med(via, "e2e_tok_s")
    events = statistics.median(r["content_events"] for r in via)
    per_token = statistics.median(
        r["content_events"] / r["completion_tokens"] for r in via if r["completion_tokens"])
    print(f"{'':28} {'TTFT s (median)':>16} {'tokens/s end to end (median)':>30}")
    print(f"{'generator, direct':28} {d_ttft:16.3f} {d_e2e:30.1f}")
    print(f"{'through the gateway (SSE)':28} {g_ttft:16.3f} {g_e2e:30.1f}")
    print(f"overhead: TTFT {g_ttft / d_ttft:.2f}x of direct, end-to-end tokens/s {g_e2e / d_e2e:.2f}x "
          f"of direct; median content events per answer through the gateway: {events:g} "
          f"({len(prompts)} prompts, 64 tokens max), {per_token:.2f} per generated token")

if __name__ == "__main__":
    main()
