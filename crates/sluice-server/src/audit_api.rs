//! The auditor API (`/v1/audit…`, auditor role): query, fetch and verify the audit log.

use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use sluice_audit::{AuditQuery, Page, parse_time_arg};

use crate::config::Role;
use crate::error::ApiError;
use crate::request::{ApiQuery, AsAuditor, Caller, WithRole};
use crate::state::AppState;

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
    WithRole(_caller, _): AsAuditor,
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
    let page = Page {
        limit: p.limit.unwrap_or(100),
        offset: p.offset.unwrap_or(0),
        cursor: p.cursor,
        newest_first: p.newest_first,
    };
    // Before the blocking pool: an offset of 10^11 made tantivy reserve 2×(offset+limit).
    page.validate()?;
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
