//! The authorization matrix: every endpoint × every role × a granted and a non-granted
//! collection, with the status each must give, an audit record for every response, and no
//! chunk of a non-granted collection in any response.

use serde_json::{Value, json};

use crate::support::*;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Need {
    Reader,
    ReaderOrIngester,
    Ingester,
    Auditor,
    Admin,
}

struct Case {
    name: &'static str,
    method: &'static str,
    path: String,
    body: Value,
    need: Need,
    /// The collection the request names, if any.
    collection: Option<&'static str>,
}

fn cases(collection: &'static str, record_id: &str) -> Vec<Case> {
    let q = "How are travel expenses reimbursed and what is the on-call rotation?";
    let c = Some(collection);
    let cols = json!([collection]);
    vec![
        Case {
            name: "models",
            method: "GET",
            path: "/v1/models".into(),
            body: Value::Null,
            need: Need::Reader,
            collection: None,
        },
        Case {
            name: "chat",
            method: "POST",
            path: "/v1/chat/completions".into(),
            body: json!({"model": "sluice", "messages": [{"role": "user", "content": q}], "sluice": {"collections": cols}}),
            need: Need::Reader,
            collection: c,
        },
        Case {
            name: "chat-model-name",
            method: "POST",
            path: "/v1/chat/completions".into(),
            body: json!({"model": format!("sluice:{collection}"), "messages": [{"role": "user", "content": q}]}),
            need: Need::Reader,
            collection: c,
        },
        Case {
            name: "chat-default",
            method: "POST",
            path: "/v1/chat/completions".into(),
            body: json!({"messages": [{"role": "user", "content": q}]}),
            need: Need::Reader,
            collection: None,
        },
        Case {
            name: "embeddings",
            method: "POST",
            path: "/v1/embeddings".into(),
            body: json!({"input": "hello", "model": "x"}),
            need: Need::Reader,
            collection: None,
        },
        Case {
            name: "ask",
            method: "POST",
            path: "/v1/ask".into(),
            body: json!({"question": q, "collections": cols}),
            need: Need::Reader,
            collection: c,
        },
        Case {
            name: "ask-default",
            method: "POST",
            path: "/v1/ask".into(),
            body: json!({"question": q}),
            need: Need::Reader,
            collection: None,
        },
        Case {
            name: "search",
            method: "POST",
            path: "/v1/search".into(),
            body: json!({"query": q, "collections": cols, "k": 10}),
            need: Need::Reader,
            collection: c,
        },
        Case {
            name: "search-default",
            method: "POST",
            path: "/v1/search".into(),
            body: json!({"query": q, "k": 10}),
            need: Need::Reader,
            collection: None,
        },
        Case {
            name: "redact",
            method: "POST",
            path: "/v1/redact".into(),
            body: json!({"text": "mail jane.doe@acme-corp.com", "boundary": "prompt"}),
            need: Need::Reader,
            collection: None,
        },
        Case {
            name: "collections",
            method: "GET",
            path: "/v1/collections".into(),
            body: Value::Null,
            need: Need::ReaderOrIngester,
            collection: None,
        },
        Case {
            name: "upload",
            method: "POST",
            path: format!("/v1/collections/{collection}/documents"),
            body: json!({"source_path": "authz/matrix-test.md", "text": "# Matrix\n\nA test document for the authorization matrix."}),
            need: Need::Ingester,
            collection: c,
        },
        Case {
            name: "delete",
            method: "DELETE",
            path: format!("/v1/collections/{collection}/documents/authz/matrix-test.md"),
            body: Value::Null,
            need: Need::Ingester,
            collection: c,
        },
        Case {
            name: "audit-query",
            method: "GET",
            path: "/v1/audit?limit=2&newest_first=true".into(),
            body: Value::Null,
            need: Need::Auditor,
            collection: None,
        },
        Case {
            name: "audit-get",
            method: "GET",
            path: format!("/v1/audit/{record_id}"),
            body: Value::Null,
            need: Need::Auditor,
            collection: None,
        },
        Case {
            name: "audit-verify",
            method: "GET",
            path: "/v1/audit/verify".into(),
            body: Value::Null,
            need: Need::Auditor,
            collection: None,
        },
        Case {
            name: "policies",
            method: "GET",
            path: "/v1/admin/policies".into(),
            body: Value::Null,
            need: Need::Admin,
            collection: None,
        },
        Case {
            name: "reload",
            method: "POST",
            path: "/v1/admin/policies/reload".into(),
            body: Value::Null,
            need: Need::Admin,
            collection: None,
        },
    ]
}

fn has(who: &str, need: Need) -> bool {
    matches!(
        (who, need),
        (
            "reader_hb" | "reader_all",
            Need::Reader | Need::ReaderOrIngester
        ) | ("ingester_hb", Need::Ingester | Need::ReaderOrIngester)
            | ("auditor", Need::Auditor)
            | ("admin", Need::Admin)
    )
}

fn granted(who: &str, collection: &str) -> bool {
    match who {
        "reader_all" => true,
        "reader_hb" | "ingester_hb" => collection == "handbook",
        _ => false,
    }
}

#[test]
fn every_endpoint_every_role_every_collection() {
    let s = echo_server();
    let sh = shared();
    let eng_docs = &sh.docs["engineering"];
    block_on(async {
        // A record id for the audit-get case.
        let seed = s.get(Some("reader_hb"), "/v1/models").await;
        let record_id = seed.request_id();
        let mut failures = Vec::new();
        for collection in ["handbook", "engineering"] {
            for who in [
                None,
                Some("bad"),
                Some("reader_hb"),
                Some("reader_all"),
                Some("ingester_hb"),
                Some("auditor"),
                Some("admin"),
            ] {
                for case in cases(collection, &record_id) {
                    let mut req = match case.method {
                        "GET" => client().get(format!("{}{}", s.url, case.path)),
                        "DELETE" => client().delete(format!("{}{}", s.url, case.path)),
                        _ => client()
                            .post(format!("{}{}", s.url, case.path))
                            .json(&case.body),
                    };
                    match who {
                        Some("bad") => {
                            req = req.bearer_auth("sluice_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
                        }
                        Some(w) => req = req.bearer_auth(s.key(w)),
                        None => {}
                    }
                    let r = send(req).await;
                    let label = format!("{} {collection} as {who:?}", case.name);
                    let expected: Result<(), &str> = match who {
                        None | Some("bad") => Err("unauthenticated"),
                        Some(w) if !has(w, case.need) => Err("forbidden"),
                        Some(w) if case.collection.is_some_and(|c| !granted(w, c)) => {
                            Err("collection_not_granted")
                        }
                        _ => Ok(()),
                    };
                    match expected {
                        Ok(()) => {
                            if !r.status.is_success() {
                                failures.push(format!(
                                    "{label}: expected success, got {} {}",
                                    r.status,
                                    r.text()
                                ));
                            }
                        }
                        Err(code) => {
                            let want = if code == "unauthenticated" { 401 } else { 403 };
                            if r.status.as_u16() != want || r.error_code() != code {
                                failures.push(format!(
                                    "{label}: expected {want} {code}, got {} {}",
                                    r.status,
                                    r.text()
                                ));
                            }
                        }
                    }
                    // No chunk or document of a collection the caller may not read.
                    if who.is_some_and(|w| !granted(w, "engineering")) {
                        let body = r.text();
                        if let Some(d) = eng_docs.iter().find(|d| body.contains(d.as_str())) {
                            failures.push(format!("{label}: response names engineering doc {d}"));
                        }
                    }
                    // Exactly one audit record per response, with its status.
                    let id = r.request_id();
                    match s.record(&id) {
                        Some(rec) => {
                            let req = rec.request.unwrap();
                            if req.status != r.status.as_u16() {
                                failures.push(format!(
                                    "{label}: audit status {} != {}",
                                    req.status, r.status
                                ));
                            }
                            let d = req.decision.label();
                            let ok = if r.status.is_success() {
                                d == "allowed" || d == "redacted"
                            } else {
                                d == "denied"
                            };
                            if !ok {
                                failures
                                    .push(format!("{label}: audit decision {d} for {}", r.status));
                            }
                            if let Some(w) = who.filter(|w| *w != "bad") {
                                if req.principal.as_deref() != Some(w) {
                                    failures.push(format!(
                                        "{label}: audit principal {:?}",
                                        req.principal
                                    ));
                                }
                            } else if req.principal.is_some() {
                                failures.push(format!(
                                    "{label}: principal recorded without a valid key"
                                ));
                            }
                            if !who.is_some_and(|w| granted(w, "engineering"))
                                && req.collections_granted.iter().any(|c| c == "engineering")
                            {
                                failures.push(format!(
                                    "{label}: engineering used for a caller without the grant"
                                ));
                            }
                        }
                        None => failures.push(format!("{label}: no audit record {id}")),
                    }
                }
            }
        }
        assert!(
            failures.is_empty(),
            "{} failures:\n{}",
            failures.len(),
            failures.join("\n")
        );
    });
}

#[test]
fn collections_and_models_list_only_granted_ones() {
    let s = echo_server();
    block_on(async {
        let r = s.get(Some("reader_hb"), "/v1/collections").await;
        let names: Vec<String> = r.json()["collections"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_owned())
            .collect();
        assert!(names.contains(&"handbook".to_owned()), "{names:?}");
        assert!(!names.contains(&"engineering".to_owned()), "{names:?}");

        let r = s.get(Some("reader_hb"), "/v1/models").await;
        let ids: Vec<String> = r.json()["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_str().unwrap().to_owned())
            .collect();
        assert!(ids.contains(&"sluice".to_owned()) && ids.contains(&"sluice:handbook".to_owned()));
        assert!(!ids.iter().any(|i| i == "sluice:engineering"), "{ids:?}");

        let r = s.get(Some("reader_all"), "/v1/models").await;
        assert!(r.text().contains("sluice:engineering"));
    });
}

#[test]
fn default_retrieval_uses_only_granted_collections() {
    let s = echo_server();
    block_on(async {
        // A question about engineering content, asked by a handbook-only reader.
        let r = s
            .post(
                Some("reader_hb"),
                "/v1/search",
                &json!({"query": "database failover runbook replica promotion", "k": 20}),
            )
            .await;
        assert!(r.status.is_success(), "{}", r.text());
        for h in r.json()["hits"].as_array().unwrap() {
            assert_eq!(h["collection"], "handbook", "{h}");
        }
        let r = s
            .post(
                Some("reader_all"),
                "/v1/search",
                &json!({"query": "database failover runbook replica promotion", "k": 5}),
            )
            .await;
        let v = r.json();
        assert!(
            v["hits"]
                .as_array()
                .unwrap()
                .iter()
                .any(|h| h["collection"] == "engineering"),
            "{v}"
        );
        let rec = s.record(&r.request_id()).unwrap().request.unwrap();
        assert!(!rec.chunk_ids.is_empty(), "search records chunk ids");
    });
}
