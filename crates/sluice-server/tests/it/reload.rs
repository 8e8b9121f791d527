//! Policy hot reload: a valid change takes effect without a restart and without failing a
//! request under load; an invalid change is rejected, reported, counted, and the last good
//! set keeps working.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::*;

const RULE: &str = r#"version = 1
category = "custom"
description = "test"

[[detector]]
id = "custom.test.zebrafish"
entity = "TEST_CODEWORD"
kind = "keywords"
whole_word = true
score = 0.9
keywords = ["Zebrafish"]
"#;

async fn version(s: &Server) -> String {
    s.get(Some("admin"), "/v1/admin/policies").await.json()["version"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn wait_for(s: &Server, what: &str, mut f: impl AsyncFnMut(&Server) -> bool) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(10) {
        if f(s).await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

#[test]
fn valid_change_applies_invalid_change_is_rejected() {
    let s = Server::start(Opts {
        watch: true,
        ..Opts::default()
    });
    block_on(async {
        let redact = async |s: &Server| {
            s.post(
                Some("reader_hb"),
                "/v1/redact",
                &json!({"text": "the Zebrafish launch", "boundary": "prompt"}),
            )
            .await
        };
        let v0 = version(&s).await;
        assert_eq!(redact(&s).await.json()["text"], "the Zebrafish launch");

        // A valid new rule, written while requests keep coming: the watcher swaps the set
        // and not one request fails or sees a half-loaded policy.
        let stop = AtomicBool::new(false);
        let load = async {
            let (mut ok, mut bad) = (0usize, Vec::new());
            while !stop.load(Ordering::Relaxed) {
                for r in futures::future::join_all((0..8).map(|_| redact(&s))).await {
                    let text = r.json()["text"].as_str().unwrap_or_default().to_owned();
                    match (r.status.as_u16(), text.as_str()) {
                        (200, "the Zebrafish launch" | "the [TEST_CODEWORD] launch") => ok += 1,
                        _ => bad.push(format!("{} {}", r.status, r.text())),
                    }
                }
            }
            (ok, bad)
        };
        let change = async {
            tokio::time::sleep(Duration::from_millis(200)).await;
            std::fs::write(s.policy_dir.join("custom/test-zebrafish.toml"), RULE).unwrap();
            wait_for(&s, "the new rule", async |s| version(s).await != v0).await;
            tokio::time::sleep(Duration::from_millis(200)).await;
            stop.store(true, Ordering::Relaxed);
        };
        let ((ok, bad), ()) = tokio::join!(load, change);
        assert!(
            bad.is_empty(),
            "{} failed under reload: {:?}",
            bad.len(),
            &bad[..bad.len().min(3)]
        );
        assert!(ok >= 16, "only {ok} requests under load");
        let r = redact(&s).await;
        assert_eq!(r.json()["text"], "the [TEST_CODEWORD] launch");
        let v1 = version(&s).await;
        assert_eq!(r.headers["x-sluice-policy"].to_str().unwrap(), v1);
        let rec = s.record(&r.request_id()).unwrap().request.unwrap();
        assert_eq!(rec.policy_version.as_deref(), Some(v1.as_str()));

        // An invalid change: rejected, the last good set stays.
        std::fs::write(
            s.policy_dir.join("custom/broken.toml"),
            "version = 1\n[[detector]]\nid = \n",
        )
        .unwrap();
        wait_for(&s, "the error to show", async |s| {
            !s.get(Some("admin"), "/v1/admin/policies").await.json()["last_error"].is_null()
        })
        .await;
        let st = s.get(Some("admin"), "/v1/admin/policies").await.json();
        assert_eq!(st["version"], v1.as_str());
        let diags = st["last_error"]["diagnostics"].as_array().unwrap();
        assert!(
            diags
                .iter()
                .any(|d| d.as_str().unwrap().starts_with("custom/broken.toml:")),
            "{st}"
        );
        assert!(st["reload_errors"].as_u64().unwrap() >= 1);
        assert_eq!(
            redact(&s).await.json()["text"],
            "the [TEST_CODEWORD] launch"
        );
        let r = s
            .post(Some("admin"), "/v1/admin/policies/reload", &json!({}))
            .await;
        assert_eq!(r.status, 422);
        assert_eq!(r.error_code(), "policy_invalid");
        let m = s.get(None, "/metrics").await.text();
        assert!(m.contains("sluice_policy_reload_errors_total"));

        // Fixing it applies again.
        std::fs::remove_file(s.policy_dir.join("custom/broken.toml")).unwrap();
        std::fs::remove_file(s.policy_dir.join("custom/test-zebrafish.toml")).unwrap();
        wait_for(&s, "the original set", async |s| version(s).await == v0).await;
        let st = s.get(Some("admin"), "/v1/admin/policies").await.json();
        assert!(st["last_error"].is_null());
        assert_eq!(redact(&s).await.json()["text"], "the Zebrafish launch");
    });
}

/// A request keeps the policy snapshot it started with.
#[test]
fn in_flight_requests_keep_their_policy() {
    let s = Server::start(Opts {
        generator: Gen::SlowEcho(Duration::from_millis(10)),
        ..Opts::default()
    });
    block_on(async {
        let v0 = version(&s).await;
        let body = json!({"question": "How are travel expenses reimbursed?", "max_tokens": 100});
        let slow = s.post(Some("reader_hb"), "/v1/ask", &body);
        let change = async {
            tokio::time::sleep(Duration::from_millis(300)).await;
            std::fs::write(s.policy_dir.join("custom/test-zebrafish.toml"), RULE).unwrap();
            let r = s
                .post(Some("admin"), "/v1/admin/policies/reload", &json!({}))
                .await;
            assert_eq!(r.status, 200, "{}", r.text());
        };
        let (r, ()) = tokio::join!(slow, change);
        assert_eq!(r.status, 200);
        assert_eq!(r.headers["x-sluice-policy"].to_str().unwrap(), v0);
        assert_eq!(r.json()["policy_version"], v0.as_str());
        assert_ne!(version(&s).await, v0);
    });
}
