//! The response bodies, pinned with insta snapshots (volatile fields — ids, timings,
//! scores, the policy hash — replaced), so that a change of shape is a reviewed change.

use serde_json::{Value, json};

use crate::support::*;

/// Replaces the values of volatile keys anywhere in `v`.
fn stable(mut v: Value) -> Value {
    fn walk(v: &mut Value) {
        match v {
            Value::Object(m) => {
                for (k, x) in m.iter_mut() {
                    match k.as_str() {
                        "request_id" | "policy_version" | "created" | "id" => {
                            *x = json!("[volatile]")
                        }
                        "timings_ms" | "took_ms" | "score" | "similarity" => {
                            *x = json!("[measured]")
                        }
                        _ => walk(x),
                    }
                }
            }
            Value::Array(a) => a.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut v);
    v
}

#[test]
fn api_bodies_keep_their_shape() {
    let s = echo_server();
    block_on(async {
        let r = s
            .post(
                Some("reader_hb"),
                "/v1/search",
                &json!({"query": "Who approves expense reports? Mail jane.doe@acme-corp.com",
                        "collections": ["handbook"], "k": 2}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        insta::assert_json_snapshot!("search", stable(r.json()));

        let r = s
            .post(
                Some("reader_hb"),
                "/v1/redact",
                &json!({"text": "card 4111 1111 1111 1111, mail jane.doe@acme-corp.com",
                        "boundary": "context"}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        insta::assert_json_snapshot!("redact", stable(r.json()));

        let r = s
            .post(
                Some("reader_hb"),
                "/v1/ask",
                &json!({"question": "banana bread recipe with walnuts", "collections": ["handbook"]}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        insta::assert_json_snapshot!("ask_off_topic", stable(r.json()));

        let r = s
            .post(Some("reader_hb"), "/v1/ask", &json!({"question": "   "}))
            .await;
        assert_eq!(r.status, 400, "{}", r.text());
        insta::assert_json_snapshot!("error_empty_question", stable(r.json()));
    });
}
