//! Probes for the platform running the gateway: liveness, readiness and Prometheus metrics
//! (no auth, not audited: they move no text).

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::state::AppState;

/// `GET /healthz`: the process is up (no auth, not audited).
pub(crate) async fn healthz() -> Response {
    Json(json!({"status": "ok"})).into_response()
}

/// `GET /readyz`: index readable and audit log accepting records. The models are loaded
/// before the server listens, so any answer at all means they are; their ids are listed.
pub(crate) async fn readyz(State(state): State<AppState>) -> Response {
    let audit = state.inner.audit.status();
    let audit_ok = audit.failed.is_none();
    let index_ok = state.inner.store.list_collections().await.is_ok();
    let ready = audit_ok && index_ok;
    let body = json!({
        "ready": ready,
        "checks": {
            "embedding_model": state.inner.embedder.model_id(),
            "answer_model": state.inner.generator.model_id(),
            "index": if index_ok { "ok" } else { "unavailable" },
            "audit": if audit_ok { "ok" } else { "unavailable" },
        },
        "policy_version": state.redactor().policy().version(),
    });
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    // A JSON body of its own: the request layer leaves it as it is.
    (status, Json(body)).into_response()
}

/// `GET /metrics`: Prometheus text format (no auth, not audited: expose it only inside).
pub(crate) async fn metrics(State(state): State<AppState>) -> Response {
    if let Some(q) = &state.inner.queue {
        crate::metrics::queue(q.queue_depth(), q.in_flight());
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.inner.metrics.render(),
    )
        .into_response()
}
