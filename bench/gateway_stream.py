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
                now = time.perf_counter() - start
                first = first if first is not None else now
                last = now
            if ev.get("usage"):
                tokens = ev["usage"]["completion_tokens"]
    decode = (tokens - 1) / (last - first) if first is not None and last > first and tokens > 1 else 0.0
    return {"ttft_s": first, "decode_tok_s": decode, "completion_tokens": tokens}


def main() -> None:
    url, prompts_path, direct_path = sys.argv[1:4]
    key = os.environ["SLUICE_KEY"]
    prompts = json.load(open(prompts_path))
    direct = json.load(open(direct_path))["runs"]
    one(url, key, prompts[0])  # warm-up
    via = [one(url, key, p) for p in prompts]
    med = lambda rows, k: statistics.median(r[k] for r in rows if r[k])
    d_ttft, g_ttft = med(direct, "ttft_s"), med(via, "ttft_s")
    d_tps, g_tps = med(direct, "decode_tok_s"), med(via, "decode_tok_s")
    print(f"{'':28} {'TTFT s (median)':>16} {'decode tok/s (median)':>22}")
    print(f"{'generator, direct':28} {d_ttft:16.3f} {d_tps:22.1f}")
    print(f"{'through the gateway (SSE)':28} {g_ttft:16.3f} {g_tps:22.1f}")
    print(f"overhead: TTFT +{(g_ttft - d_ttft) * 1e3:.0f} ms ({g_ttft / d_ttft:.2f}x), "
          f"decode {g_tps / d_tps:.2f}x of direct ({len(prompts)} prompts)")


if __name__ == "__main__":
    main()
