//! Operating the gateway: health and readiness probes, Prometheus metrics, the auditor API
//! (`/v1/audit…`, auditor role) and policy administration (`/v1/admin/policies…`, admin
//! role).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use sluice_audit::{AuditQuery, Page, parse_time_arg};

use crate::config::Role;
use crate::error::ApiError;
use crate::request::{ApiQuery, AsAuditor, Caller, WithRole};
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

#[derive(Debug, Default, Deserialize)]
pub(crate) struct AuditParams {
    since: Option<String>,
    until: Option<String>,
    principal: Option<String>,
    collection: Option<String>,
    decision: Option<String>,
    entity: Option<String>,
    rule: Option<String>,
    endpoint: Option<String>,
    status: Option<u16>,
    limit: Option<usize>,
    offset: Option<usize>,
    cursor: Option<String>,
    #[serde(default)]
    newest_first: bool,
}

/// `GET /v1/audit`: filtered, paginated records.
pub(crate) async fn audit_query(
    State(state): State<AppState>,
    WithRole(_caller): AsAuditor,
    ApiQuery(p): ApiQuery<AuditParams>,
) -> Result<Response, ApiError> {
    let time = |s: &Option<String>| s.as_deref().map(parse_time_arg).transpose();
    let q = AuditQuery {
        since: time(&p.since)?,
        until: time(&p.until)?,
        principal: p.principal,
        collection: p.collection,
        decision: p.decision,
        entity: p.entity,
        rule: p.rule,
        endpoint: p.endpoint,
        status: p.status,
    };
    q.validate()?;
    let limit = p.limit.unwrap_or(100);
    if !(1..=10_000).contains(&limit) {
        return Err(ApiError::BadRequest {
            code: "invalid_query",
            message: "limit must be between 1 and 10000".into(),
        });
    }
    let page = Page {
        limit,
        offset: p.offset.unwrap_or(0),
        cursor: p.cursor,
        newest_first: p.newest_first,
    };
    let log = state.inner.audit.clone();
    let result = tokio::task::spawn_blocking(move || {
        log.sync_index()?;
        log.query(&q, &page)
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))??;
    Ok(Json(result).into_response())
}

/// `GET /v1/audit/{id}`: one record.
pub(crate) async fn audit_get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    caller.require(Role::Auditor)?;
    if id.len() != 26 || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(ApiError::NotFound("no audit record with this id".into()));
    }
    let log = state.inner.audit.clone();
    let rec = tokio::task::spawn_blocking(move || {
        log.sync_index()?;
        log.get(&id)
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))??;
    match rec {
        Some(r) => Ok(Json(r).into_response()),
        None => Err(ApiError::NotFound("no audit record with this id".into())),
    }
}

/// `GET /v1/audit/verify`: walk the whole chain and its signed checkpoints.
pub(crate) async fn audit_verify(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Response, ApiError> {
    caller.require(Role::Auditor)?;
    let dir = state.inner.audit.dir().to_path_buf();
    let key = match &state.inner.audit_public_key {
        Some(k) => {
            Some(sluice_audit::parse_public_key(k).map_err(|e| ApiError::Internal(e.to_string()))?)
        }
        None => None,
    };
    let report = tokio::task::spawn_blocking(move || sluice_audit::verify_dir(&dir, key.as_ref()))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))??;
    let status = state.inner.audit.status();
    Ok(Json(json!({
        "ok": report.is_ok(),
        "report": report,
        "chain": status,
        "public_key": state.inner.audit_public_key,
    }))
    .into_response())
}

/// `GET /v1/admin/policies`: version, load time, files, last reload error.
pub(crate) async fn policies(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Response, ApiError> {
    caller.require(Role::Admin)?;
    Ok(Json(state.policy_status()).into_response())
}

/// `POST /v1/admin/policies/reload`: reload now; 422 with the diagnostics when the set is
/// invalid (the active set stays).
pub(crate) async fn reload(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Response, ApiError> {
    caller.require(Role::Admin)?;
    match state.reload_policy().await {
        Ok(st) => Ok(Json(st).into_response()),
        Err(e) => Err(ApiError::Unprocessable {
            code: "policy_invalid",
            message: format!(
                "{}; the active policy set stays in place: {}",
                e.message,
                e.diagnostics.join("; ")
            ),
        }),
    }
}
