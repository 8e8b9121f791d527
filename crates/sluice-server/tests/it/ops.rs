//! Probes, metrics, the auditor API and policy status.

use serde_json::json;

use crate::support::*;

#[test]
fn probes_and_metrics() {
    let s = echo_server();
    block_on(async {
        let r = s.get(None, "/healthz").await;
        assert_eq!(r.status, 200);
        assert!(r.headers.contains_key("x-request-id"));
        let r = s.get(None, "/readyz").await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json()["ready"], true);

        // Generate a finding and a block, then scrape.
        s.post(
            Some("reader_hb"),
            "/v1/redact",
            &json!({"text": "mail jane.doe@acme-corp.com"}),
        )
        .await;
        s.post(
            Some("reader_hb"),
            "/v1/redact",
            &json!({"text": "AKIAQYLPMN5HFIQR7XOB"}),
        )
        .await;
        s.post(
            Some("reader_hb"),
            "/v1/ask",
            &json!({"question": "How are travel expenses reimbursed?", "max_tokens": 5}),
        )
        .await;
        let r = s.get(None, "/metrics").await;
        assert_eq!(r.status, 200);
        let m = r.text();
        for name in [
            "sluice_http_requests_total",
            "sluice_http_request_duration_seconds_bucket",
            "sluice_policy_findings_total",
            "sluice_policy_blocks_total",
            "sluice_model_queue_depth",
            "sluice_model_tokens_total",
        ] {
            assert!(m.contains(name), "{name} missing from /metrics");
        }
        assert!(m.contains("entity=\"EMAIL_ADDRESS\""));
        assert!(!m.contains("jane.doe") && !m.contains("AKIAQYLPMN5HFIQR7XOB"));
        assert!(m.contains("endpoint=\"/v1/redact\""));
    });
}

#[test]
fn auditor_api() {
    let s = echo_server();
    block_on(async {
        let r = s
            .post(
                Some("reader_hb"),
                "/v1/redact",
                &json!({"text": "mail jane.doe@acme-corp.com"}),
            )
            .await;
        let id = r.request_id();
        let rec = s.get(Some("auditor"), &format!("/v1/audit/{id}")).await;
        assert_eq!(rec.status, 200, "{}", rec.text());
        let v = rec.json();
        assert_eq!(v["id"], id.as_str());
        assert_eq!(v["request"]["principal"], "reader_hb");
        assert_eq!(v["request"]["decision"]["outcome"], "redacted");
        assert!(!rec.text().contains("jane.doe"));

        let q = s
            .get(
                Some("auditor"),
                "/v1/audit?principal=reader_hb&decision=redacted&limit=5&newest_first=true",
            )
            .await;
        assert_eq!(q.status, 200, "{}", q.text());
        let v = q.json();
        assert!(v["total"].as_u64().unwrap() >= 1);
        assert!(
            v["records"]
                .as_array()
                .unwrap()
                .iter()
                .all(|r| r["request"]["principal"] == "reader_hb")
        );
        let q = s
            .get(
                Some("auditor"),
                "/v1/audit?since=1h&endpoint=/v1/redact&limit=1",
            )
            .await;
        assert_eq!(q.status, 200, "{}", q.text());
        let q = s.get(Some("auditor"), "/v1/audit?decision=bogus").await;
        assert_eq!(q.status, 400);

        let v = s.get(Some("auditor"), "/v1/audit/verify").await;
        assert_eq!(v.status, 200);
        let v = v.json();
        assert_eq!(v["ok"], true, "{v}");
        assert_eq!(v["report"]["key_supplied"], true);
    });
}

#[test]
fn admin_sees_policy_status() {
    let s = echo_server();
    block_on(async {
        let r = s.get(Some("admin"), "/v1/admin/policies").await;
        assert_eq!(r.status, 200);
        let v = r.json();
        assert_eq!(v["version"], r.headers["x-sluice-policy"].to_str().unwrap());
        assert!(
            v["files"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f == "sluice.toml")
        );
        assert!(v["detectors"].as_u64().unwrap() > 100);
        assert!(v["loaded_at"].is_string());
    });
}
