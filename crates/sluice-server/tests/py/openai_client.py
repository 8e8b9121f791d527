"""The official `openai` Python client against a running Sluice gateway, unchanged.

Env: SLUICE_URL (e.g. http://127.0.0.1:8080), SLUICE_KEY (a reader key).
Checks /v1/models, /v1/chat/completions (plain and streamed) and /v1/embeddings (the client
asks for base64 by default), and that a pasted secret is refused with 403.
"""

import os
import sys

import openai

url = os.environ["SLUICE_URL"].rstrip("/") + "/v1"
client = openai.OpenAI(base_url=url, api_key=os.environ["SLUICE_KEY"], max_retries=0)

models = [m.id for m in client.models.list()]
assert "sluice" in models, models

question = "How are travel expenses reimbursed?"
resp = client.chat.completions.create(
    model="sluice",
    messages=[{"role": "user", "content": question}],
    max_tokens=32,
)
text = resp.choices[0].message.content
assert text, resp
assert resp.usage.completion_tokens > 0
extra = resp.model_extra or {}
assert "sluice" in extra and extra["sluice"]["citations"], extra
print(f"chat: {len(text)} chars, {len(extra['sluice']['citations'])} citations")

pieces = []
final = None
stream = client.chat.completions.create(
    model="sluice",
    messages=[{"role": "user", "content": question}],
    max_tokens=32,
    stream=True,
)
for chunk in stream:
    if chunk.choices and chunk.choices[0].delta.content:
        pieces.append(chunk.choices[0].delta.content)
    if chunk.choices and chunk.choices[0].finish_reason:
        final = chunk
assert pieces and final is not None
print(f"stream: {len(pieces)} chunks, finish_reason={final.choices[0].finish_reason}")

emb = client.embeddings.create(model="all-MiniLM-L6-v2", input=["hello world", "second"])
assert len(emb.data) == 2 and len(emb.data[0].embedding) == 384, emb
emb_f = client.embeddings.create(model="x", input="hello world", encoding_format="float")
assert abs(emb_f.data[0].embedding[0] - emb.data[0].embedding[0]) < 1e-6
print("embeddings: 2 x 384 (base64 and float agree)")

try:
    client.chat.completions.create(
        model="sluice",
        messages=[{"role": "user", "content": "why is AKIAQYLPMN5HFIQR7XOB rejected?"}],
    )
    sys.exit("a pasted secret was not refused")
except openai.PermissionDeniedError as e:
    body = e.body if isinstance(e.body, dict) else {}
    err = body.get("error", body)
    assert err.get("code") == "policy_block", e.body
    print(f"blocked: rule {err.get('rule')}")

print("openai client: OK")
