//! Uploading and deleting documents through the ingest boundary.

use serde_json::json;

use crate::support::*;

#[test]
fn upload_search_delete() {
    let s = echo_server();
    block_on(async {
        let text = "# Aquarium maintenance\n\nThe office aquarium filter is cleaned every Friday by \
                    facilities. Contact jane.doe@acme-corp.com with questions. The deploy key is \
                    AKIAQYLPMN5HFIQR7XOB.\n";
        let r = s
            .post(
                Some("ingester_hb"),
                "/v1/collections/handbook/documents",
                &json!({"source_path": "docs-test/aquarium.md", "text": text}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text());
        let v = r.json();
        assert_eq!(v["outcome"], "added");
        assert!(v["chunks"].as_u64().unwrap() >= 1);
        let doc_id = v["doc_id"].as_str().unwrap().to_owned();
        assert_eq!(
            doc_id,
            sluice_rag::doc_id("handbook", "docs-test/aquarium.md")
        );
        let rec = s.record(&r.request_id()).unwrap().request.unwrap();
        assert_eq!(rec.decision.label(), "redacted");
        assert_eq!(rec.doc_ids, vec![doc_id.clone()]);
        assert!(
            rec.findings
                .iter()
                .any(|f| f.boundary == "ingest" && f.entity == "AWS_ACCESS_KEY_ID")
        );

        // Same content again: unchanged.
        let r = s
            .post(
                Some("ingester_hb"),
                "/v1/collections/handbook/documents",
                &json!({"source_path": "docs-test/aquarium.md", "text": text}),
            )
            .await;
        assert_eq!(r.json()["outcome"], "unchanged");

        // Stored redacted: search shows no value.
        let r = s
            .post(
                Some("reader_hb"),
                "/v1/search",
                &json!({"query": "office aquarium filter cleaning", "k": 3}),
            )
            .await;
        let v = r.json();
        let hit = v["hits"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["doc_id"] == doc_id.as_str())
            .cloned();
        let hit = hit.unwrap_or_else(|| panic!("uploaded document found: {v}"));
        let t = hit["text"].as_str().unwrap();
        assert!(
            !t.contains("AKIAQYLPMN5HFIQR7XOB") && !t.contains("jane.doe"),
            "{t}"
        );

        // Another collection is off limits for this ingester; readers cannot upload.
        let r = s
            .post(
                Some("ingester_hb"),
                "/v1/collections/engineering/documents",
                &json!({"source_path": "x.md", "text": "x"}),
            )
            .await;
        assert_eq!(r.status, 403);
        let r = s
            .post(
                Some("reader_all"),
                "/v1/collections/handbook/documents",
                &json!({"source_path": "x.md", "text": "x"}),
            )
            .await;
        assert_eq!(r.status, 403);

        // Delete by source path.
        let r = s
            .delete(
                Some("ingester_hb"),
                "/v1/collections/handbook/documents/docs-test/aquarium.md",
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert!(r.json()["chunks_removed"].as_u64().unwrap() >= 1);
        let r = s
            .post(
                Some("reader_hb"),
                "/v1/search",
                &json!({"query": "office aquarium filter cleaning", "k": 5}),
            )
            .await;
        assert!(!r.text().contains(&doc_id));
        let r = s
            .delete(
                Some("ingester_hb"),
                "/v1/collections/handbook/documents/docs-test/aquarium.md",
            )
            .await;
        assert_eq!(r.status, 404);
    });
}

#[test]
fn multipart_upload_and_blocked_source_path() {
    let s = echo_server();
    block_on(async {
        let form = reqwest::multipart::Form::new()
            .part(
                "file",
                reqwest::multipart::Part::bytes(
                    b"<html><body><h1>Parking</h1><p>Visitors park on level 2.</p></body></html>"
                        .to_vec(),
                )
                .file_name("parking.html"),
            )
            .text("source_path", "docs-test/parking.html");
        let r = send(
            client()
                .post(format!("{}/v1/collections/handbook/documents", s.url))
                .bearer_auth(s.key("ingester_hb"))
                .multipart(form),
        )
        .await;
        assert!(r.status.is_success(), "{}", r.text());
        assert_eq!(r.json()["source_path"], "docs-test/parking.html");
        let r = s
            .delete(
                Some("ingester_hb"),
                "/v1/collections/handbook/documents/docs-test/parking.html",
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text());

        // An email in a source path is redacted before it is stored.
        let r = s
            .post(Some("ingester_hb"), "/v1/collections/handbook/documents", &json!({"source_path": "people/jane.doe@acme-corp.com.md", "text": "# Notes\n\nShort notes."}))
            .await;
        assert!(r.status.is_success(), "{}", r.text());
        let sp = r.json()["source_path"].as_str().unwrap().to_owned();
        assert!(!sp.contains("jane.doe"), "{sp}");
        let doc = r.json()["doc_id"].as_str().unwrap().to_owned();
        let path = format!("/v1/collections/handbook/documents/{sp}");
        let r = s.delete(Some("ingester_hb"), &path).await;
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        assert_eq!(r.json()["doc_id"], doc.as_str());
    });
}

#[test]
fn delete_by_doc_id_only_inside_its_collection() {
    let s = echo_server();
    block_on(async {
        let r = s
            .post(
                Some("ingester_hb"),
                "/v1/collections/handbook/documents",
                &json!({"source_path": "docs-test/by-id.md", "text": "# Bike shed\n\nThe bike shed is behind building C."}),
            )
            .await;
        assert!(r.status.is_success(), "{}", r.text());
        let doc = r.json()["doc_id"].as_str().unwrap().to_owned();

        // A key granted every collection names another collection: not found, nothing removed.
        let r = s
            .delete(
                Some("ingester_all"),
                &format!("/v1/collections/engineering/documents/{doc}"),
            )
            .await;
        assert_eq!(r.status, 404, "{}", r.text());
        // In its own collection, by id, any ingester granted that collection may delete it.
        let r = s
            .delete(
                Some("ingester_hb"),
                &format!("/v1/collections/handbook/documents/{doc}"),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json()["doc_id"], doc.as_str());
        assert!(r.json()["chunks_removed"].as_u64().unwrap() >= 1);
    });
}
