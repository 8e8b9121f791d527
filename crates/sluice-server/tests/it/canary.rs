//! Canary suite: every planted value of `corpora/MANIFEST.toml` — sent in prompts (chat,
//! streamed and not, ask, search, embeddings, redact), uploaded in documents, and present in
//! the retrieved context — never appears in any response body or SSE event, nor in any
//! file of the audit directory or the index, nor in any log line.

use futures::StreamExt;
use serde_json::json;

use crate::support::*;

/// The planted value with the paragraph it sits in and the one before (the context its
/// detector needs: a label on the line above, a table header): whole paragraphs, so that no
/// other value's key or context word is cut off at the edge.
fn window(p: &Planted) -> String {
    let text = std::fs::read_to_string(repo().join("corpora").join(&p.file)).unwrap();
    let at = text.find(&p.value).expect("value in its file");
    let mut a = at;
    for _ in 0..2 {
        let mut x = a.saturating_sub(2);
        while !text.is_char_boundary(x) {
            x -= 1;
        }
        a = text[..x].rfind("\n\n").map_or(0, |i| i + 2);
    }
    let end = at + p.value.len();
    let b = text[end..].find("\n\n").map_or(text.len(), |i| end + i);
    format!("{}\n\nWhat does this mean?", &text[a..b])
}

#[test]
fn no_planted_value_leaves_the_gateway() {
    let s = Server::start(Opts::default());
    let m = manifest();
    block_on(async {
        let mut leaked = Vec::new();
        let mut check = |what: String, r: &Resp| {
            for l in leaks(&r.body, &m) {
                leaked.push(format!("{what}: {l}"));
            }
        };

        // 1. In prompts, one value at a time with its surrounding text.
        let reqs: Vec<(usize, &Planted)> = m.planted.iter().enumerate().collect();
        let results: Vec<(String, Resp)> = futures::stream::iter(reqs)
            .map(|(i, p)| {
                let s = &s;
                async move {
                    let w = window(p);
                    let stream = i % 2 == 0;
                    let r = s
                        .post(
                            Some("reader_all"),
                            "/v1/chat/completions",
                            &json!({"model": "sluice", "stream": stream, "max_tokens": 4096, "messages": [{"role": "user", "content": w}]}),
                        )
                        .await;
                    (format!("chat(stream={stream}) {} #{i}", p.entity), r)
                }
            })
            .buffer_unordered(4)
            .collect()
            .await;
        let mut statuses = std::collections::BTreeMap::new();
        for (what, r) in &results {
            *statuses.entry(r.status.as_u16()).or_insert(0) += 1;
            check(what.clone(), r);
        }
        eprintln!("canary chat statuses: {statuses:?}");
        assert!(
            statuses.get(&200).copied().unwrap_or(0) > 50,
            "most prompts are answered: {statuses:?}"
        );
        assert!(
            statuses.get(&403).copied().unwrap_or(0) > 10,
            "pasted secrets are blocked: {statuses:?}"
        );

        let mut by_file: std::collections::BTreeMap<&str, Vec<&Planted>> = Default::default();
        for p in &m.planted {
            by_file.entry(p.file.as_str()).or_default().push(p);
        }
        for (file, ps) in &by_file {
            let mut joined: Vec<String> = ps.iter().map(|p| window(p)).collect();
            joined.dedup();
            let joined = joined.join("\n\n");
            for (path, body) in [
                ("/v1/ask", json!({"question": joined, "max_tokens": 4096})),
                ("/v1/search", json!({"query": joined, "k": 10})),
                (
                    "/v1/embeddings",
                    json!({"input": ps.iter().map(|p| window(p)).collect::<Vec<_>>()}),
                ),
                ("/v1/redact", json!({"text": joined, "boundary": "context"})),
                ("/v1/redact", json!({"text": joined, "boundary": "prompt"})),
            ] {
                let r = s.post(Some("reader_all"), path, &body).await;
                check(format!("{path} {file}"), &r);
            }
            // Ask with streaming as well.
            let r = s
                .post(Some("reader_all"), "/v1/ask", &json!({"question": format!("Summarise {file}"), "stream": true, "max_tokens": 4096}))
                .await;
            check(format!("/v1/ask stream {file}"), &r);
        }

        // 2. Uploaded in documents (multipart), then retrieved into the context.
        for file in by_file.keys() {
            let bytes = std::fs::read(repo().join("corpora").join(file)).unwrap();
            let name = format!("canary/{file}");
            let form = reqwest::multipart::Form::new().part(
                "file",
                reqwest::multipart::Part::bytes(bytes).file_name(name.clone()),
            );
            let r = send(
                client()
                    .post(format!("{}/v1/collections/handbook/documents", s.url))
                    .bearer_auth(s.key("ingester_hb"))
                    .multipart(form),
            )
            .await;
            assert!(
                r.status.is_success(),
                "upload {file}: {} {}",
                r.status,
                r.text()
            );
            check(format!("upload {file}"), &r);
            let stem = file
                .rsplit('/')
                .next()
                .unwrap()
                .split('.')
                .next()
                .unwrap()
                .replace('-', " ");
            for stream in [false, true] {
                let r = s
                    .post(
                        Some("reader_hb"),
                        "/v1/chat/completions",
                        &json!({"stream": stream, "max_tokens": 4096, "messages": [{"role": "user", "content": format!("What does the {stem} document say?")}]}),
                    )
                    .await;
                check(format!("chat about uploaded {file}"), &r);
            }
            let r = s
                .post(
                    Some("reader_hb"),
                    "/v1/search",
                    &json!({"query": stem, "k": 20}),
                )
                .await;
            check(format!("search uploaded {file}"), &r);
        }
        for file in by_file.keys() {
            let r = s
                .delete(
                    Some("ingester_hb"),
                    &format!("/v1/collections/handbook/documents/canary/{file}"),
                )
                .await;
            assert!(r.status.is_success(), "delete {file}: {}", r.text());
        }

        assert!(
            leaked.is_empty(),
            "{} leaks:\n{}",
            leaked.len(),
            leaked.join("\n")
        );
    });

    // 3. Nothing in the audit directory (segments, checkpoints, search index).
    s.state.audit().sync_index().unwrap(); // outside any runtime
    let mut in_files = Vec::new();
    for (path, bytes) in all_files(&s.audit_dir) {
        for l in leaks(&bytes, &m) {
            in_files.push(format!("{}: {l}", path.display()));
        }
    }
    // Nor in the index the gateway wrote to.
    for (path, bytes) in all_files(shared().index_dir.path()) {
        for l in leaks(&bytes, &m) {
            in_files.push(format!("{}: {l}", path.display()));
        }
    }
    assert!(in_files.is_empty(), "{}", in_files.join("\n"));

    // 4. Nor in any log line the gateway wrote meanwhile (one JSON object per line).
    let logs = logs()
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    let lines = logs
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .count();
    assert!(
        lines > 300,
        "the gateway logged every request: {lines} lines"
    );
    let in_logs = leaks(&logs, &m);
    assert!(in_logs.is_empty(), "in the logs: {}", in_logs.join("\n"));
    let report = sluice_audit::verify_dir(&s.audit_dir, None).unwrap();
    assert!(report.is_ok(), "{report:?}");
    assert!(
        report.records > 300,
        "every request left a record: {}",
        report.records
    );
}
