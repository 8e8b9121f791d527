//! The request layer: one middleware around every route that
//!
//! 1. gives the request its id (= its audit record id) and one policy snapshot,
//! 2. applies the request timeout,
//! 3. renders every error response in the one JSON shape (with the request id),
//! 4. writes exactly one audit record per request — before a non-streaming response is
//!    sent; for a stream, before its last event (the stream's guard records a dropped
//!    stream too) — and answers 503 when the record cannot be written (fail closed),
//! 5. adds `x-request-id` and `x-sluice-policy`, counts metrics and logs one line.
//!
//! Handlers never write audit records: they put facts (principal, collections, findings,
//! sources, tokens) into the [`RequestCtx`] they get through the [`Caller`] extractor.

use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, MatchedPath, Request, State};
use axum::http::header::{self, HeaderValue};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures::Stream;
use serde::de::DeserializeOwned;
use sluice_audit::{Decision, FindingSummary, RecordDraft, RecordId, RequestRecord, value_hmac};
use sluice_index::CollectionName;
use sluice_policy::{Finding, Redactor};
use tracing::Instrument;

use crate::config::{Grants, Principal, Role};
use crate::error::{ApiError, ErrorInfo, scrub_serde_message};
use crate::state::AppState;

/// Endpoints that are not audited: unauthenticated probes that move no text (a record per
/// load-balancer probe would drown the log).
const UNAUDITED: &[&str] = &["/healthz", "/readyz", "/metrics"];

/// The gateway version written into audit records.
pub const GATEWAY_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Marks a streaming response: its audit record is written by the stream.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Streaming;

/// (boundary, entity, rule, action) → (count, keyed value hashes).
type FindingTally = BTreeMap<(String, String, String, String), (u64, Vec<String>)>;

/// Facts a handler collects for the audit record.
#[derive(Default)]
struct Facts {
    principal: Option<String>,
    collections_requested: Vec<String>,
    collections_rejected: u32,
    collections_granted: Vec<String>,
    findings: FindingTally,
    chunk_ids: Vec<String>,
    doc_ids: Vec<String>,
    model: Option<String>,
    tokens_in: Option<u64>,
    tokens_out: Option<u64>,
    /// How a stream ended when not normally (error event sent).
    stream_outcome: Option<Decision>,
}

/// One request's id, policy snapshot and audit facts.
pub struct RequestCtx {
    /// The request id (= audit record id).
    pub id: RecordId,
    started: Instant,
    endpoint: String,
    client_addr: Option<String>,
    redactor: Arc<Redactor>,
    facts: Mutex<Facts>,
    done: AtomicBool,
    state: AppState,
}

impl RequestCtx {
    fn facts(&self) -> std::sync::MutexGuard<'_, Facts> {
        match self.facts.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// The policy snapshot of this request (taken at its start).
    pub fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    /// The shared state.
    pub(crate) fn state(&self) -> &AppState {
        &self.state
    }

    /// When the request started.
    pub(crate) fn started(&self) -> Instant {
        self.started
    }

    /// Records the collections asked for and the ones used. Only valid collection names
    /// are recorded: anything else is request text (it could hold an e-mail or a key), so it
    /// is counted, never written.
    pub(crate) fn set_collections(&self, requested: &[String], granted: &[CollectionName]) {
        let mut f = self.facts();
        let (valid, invalid): (Vec<&String>, Vec<&String>) = requested
            .iter()
            .partition(|c| crate::config::valid_collection_name(c));
        f.collections_requested = valid.into_iter().cloned().collect();
        f.collections_rejected = u32::try_from(invalid.len()).unwrap_or(u32::MAX);
        f.collections_granted = granted.iter().map(CollectionName::to_string).collect();
    }

    /// Records policy findings: per (boundary, entity, rule, action) a count and the keyed
    /// HMAC of each value — never the value.
    pub(crate) fn add_findings<'a>(&self, findings: impl IntoIterator<Item = &'a Finding>) {
        let key = &self.state.inner.hmac_key;
        let mut f = self.facts();
        for x in findings {
            let e = f
                .findings
                .entry((
                    x.boundary.as_str().to_owned(),
                    x.entity.to_string(),
                    x.rule.to_string(),
                    x.action.name().to_owned(),
                ))
                .or_default();
            e.0 += 1;
            e.1.push(value_hmac(key, &x.entity, x.value.expose()));
            crate::metrics::finding(&x.entity, x.boundary.as_str(), 1);
        }
    }

    /// Records the findings a refusal carries: a `block` still says what was in the request.
    pub(crate) fn add_refusal(&self, e: &sluice_rag::AnswerError) {
        if let sluice_rag::AnswerError::Blocked { findings, .. } = e {
            self.add_findings(findings);
        }
    }

    /// Records retrieved sources.
    pub(crate) fn add_sources<'a>(&self, sources: impl IntoIterator<Item = (&'a str, &'a str)>) {
        let mut f = self.facts();
        for (chunk, doc) in sources {
            f.chunk_ids.push(chunk.to_owned());
            if !f.doc_ids.iter().any(|d| d == doc) {
                f.doc_ids.push(doc.to_owned());
            }
        }
    }

    /// Records a document written or deleted.
    pub(crate) fn add_doc(&self, doc_id: &str) {
        let mut f = self.facts();
        if !f.doc_ids.iter().any(|d| d == doc_id) {
            f.doc_ids.push(doc_id.to_owned());
        }
    }

    /// Records the model and token counts.
    pub(crate) fn set_usage(&self, model: &str, prompt: u64, completion: u64) {
        let mut f = self.facts();
        f.model = Some(model.to_owned());
        f.tokens_in = Some(prompt);
        f.tokens_out = Some(completion);
        crate::metrics::tokens(prompt, completion);
    }

    /// Records that a stream ended with an error event.
    pub(crate) fn set_stream_outcome(&self, d: Decision) {
        self.facts().stream_outcome = Some(d);
    }

    fn set_principal(&self, id: &str) {
        self.facts().principal = Some(id.to_owned());
    }

    /// Writes this request's audit record, once (later calls do nothing). `decision`:
    /// `None` = success, allowed or redacted by the findings recorded.
    pub(crate) async fn commit(
        &self,
        status: u16,
        decision: Option<Decision>,
    ) -> Result<(), sluice_audit::Error> {
        if self.done.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        let record = {
            let mut f = self.facts();
            let findings: Vec<FindingSummary> = std::mem::take(&mut f.findings)
                .into_iter()
                .map(
                    |((boundary, entity, rule, action), (count, value_hmacs))| FindingSummary {
                        boundary,
                        entity,
                        rule,
                        action,
                        count,
                        value_hmacs,
                    },
                )
                .collect();
            let decision = decision
                .or_else(|| f.stream_outcome.take())
                .unwrap_or_else(|| {
                    if findings.iter().any(|x| x.action != "shadow") {
                        Decision::Redacted
                    } else {
                        Decision::Allowed
                    }
                });
            RequestRecord {
                principal: f.principal.take(),
                client_addr: self.client_addr.clone(),
                endpoint: self.endpoint.clone(),
                collections_requested: std::mem::take(&mut f.collections_requested),
                collections_granted: std::mem::take(&mut f.collections_granted),
                collections_rejected: f.collections_rejected,
                findings,
                decision,
                chunk_ids: std::mem::take(&mut f.chunk_ids),
                doc_ids: std::mem::take(&mut f.doc_ids),
                model: f.model.take(),
                tokens_in: f.tokens_in,
                tokens_out: f.tokens_out,
                latency_us: self.started.elapsed().as_micros() as u64,
                status,
                policy_version: Some(self.redactor.policy().version().to_owned()),
                gateway_version: GATEWAY_VERSION.to_owned(),
                redacted_prompt: None,
                redacted_answer: None,
            }
        };
        let label = record.decision.label();
        let principal = record.principal.clone().unwrap_or_default();
        // The append runs as a task of its own: if the connection goes away while it is in
        // flight, the caller's future is dropped but the record is still written.
        let audit = self.state.inner.audit.clone();
        // Refusals before any text is read (no or unknown key, rate limit) are what a flood
        // is made of: their records join the next group commit without the response
        // waiting for its fsync, so a flood cannot cost one fsync per request.
        let queued_only = matches!(&record.decision, Decision::Denied { reason }
            if reason == "unauthenticated" || reason == "rate_limited");
        let draft = RecordDraft::with_id(self.id.clone(), record);
        let task = tokio::spawn(async move { audit.append_async(draft).await });
        if queued_only {
            tracing::info!(request_id = %self.id, endpoint = %self.endpoint, status, decision = label, "request");
            return Ok(());
        }
        let res = match task.await {
            Ok(r) => r.map(|_| ()),
            Err(e) => Err(sluice_audit::Error::Unavailable(format!(
                "audit append task: {e}"
            ))),
        };
        match &res {
            Ok(_) => tracing::info!(
                request_id = %self.id,
                endpoint = %self.endpoint,
                status,
                decision = label,
                principal = %principal,
                latency_ms = self.started.elapsed().as_secs_f64() * 1e3,
                "request"
            ),
            Err(e) => {
                crate::metrics::audit_failure();
                tracing::error!(error = %e, status, "audit record not written; response refused");
            }
        }
        res
    }

    /// Whether the record was written (or is being written).
    pub(crate) fn is_committed(&self) -> bool {
        self.done.load(Ordering::SeqCst)
    }
}

/// The middleware (see the module docs).
pub(crate) async fn layer(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let id = RecordId::new();
    let endpoint = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "(no route)".to_owned(), |m| m.as_str().to_owned());
    let client_addr = req
        .extensions()
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip().to_string());
    let redactor = state.redactor();
    let policy_version = redactor.policy().version().to_owned();
    let audited = !UNAUDITED.contains(&endpoint.as_str());
    let ctx = Arc::new(RequestCtx {
        id: id.clone(),
        started: Instant::now(),
        endpoint: endpoint.clone(),
        client_addr,
        redactor,
        facts: Mutex::new(Facts::default()),
        done: AtomicBool::new(!audited),
        state: state.clone(),
    });
    req.extensions_mut().insert(ctx.clone());
    // If this future is dropped (the client hung up before the response was ready), the
    // guard writes the record: every request leaves one, whatever the connection does.
    let guard = RecordGuard::new(ctx.clone(), 499, "client_closed");

    let span = tracing::info_span!("request", request_id = %id, endpoint = %endpoint, method = %req.method());
    let limit = state.inner.config.limits.request_timeout;
    let mut res = match tokio::time::timeout(limit, next.run(req).instrument(span.clone())).await {
        Ok(r) => r,
        Err(_) => ApiError::Timeout(limit.as_secs()).into_response(),
    };

    let status = res.status();
    let info = match res.extensions_mut().remove::<ErrorInfo>() {
        Some(i) => Some(i),
        None if (status.is_client_error() || status.is_server_error())
            && !is_json(res.headers()) =>
        {
            // A rejection axum produced itself (404, 405, a path or multipart error).
            Some(ApiError::info_for_status(status, generic_message(status)))
        }
        None => None,
    };
    if let Some(info) = &info {
        res = render_error(res, info, id.as_str());
    }

    let streaming = res.extensions().get::<Streaming>().is_some();
    if streaming && info.is_none() {
        let (parts, body) = res.into_parts();
        // From here the stream records itself; if it is dropped unfinished, its guard does.
        let guarded = Guarded {
            inner: body.into_data_stream(),
            guard: guard.rearm(200, "stream_aborted"),
        };
        res = Response::from_parts(parts, Body::from_stream(guarded));
    } else {
        let _guard = guard;
        let decision = info.as_ref().map(|i| i.decision.clone());
        let committed = ctx
            .commit(status.as_u16(), decision)
            .instrument(span.clone())
            .await;
        if committed.is_err() {
            let e = ApiError::Unavailable(
                "the audit log is unavailable; the request was refused".into(),
            );
            let info = e.info();
            res = render_error(e.into_response(), &info, id.as_str());
        }
    }

    let headers = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(id.as_str()) {
        headers.insert("x-request-id", v);
    }
    if let Ok(v) = HeaderValue::from_str(&policy_version) {
        headers.insert("x-sluice-policy", v);
    }
    crate::metrics::request(
        &endpoint,
        res.status().as_u16(),
        ctx.started.elapsed().as_secs_f64(),
    );
    res
}

fn is_json(h: &HeaderMap) -> bool {
    h.get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

fn generic_message(status: StatusCode) -> String {
    match status {
        StatusCode::NOT_FOUND => "no such endpoint".into(),
        StatusCode::METHOD_NOT_ALLOWED => "method not allowed on this endpoint".into(),
        StatusCode::PAYLOAD_TOO_LARGE => "request body is over the limit".into(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported content type".into(),
        s => s
            .canonical_reason()
            .unwrap_or("request failed")
            .to_lowercase(),
    }
}

fn render_error(res: Response, info: &ErrorInfo, request_id: &str) -> Response {
    let (mut parts, _) = res.into_parts();
    parts.status = info.status;
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    if info.code == "rate_limited" && !parts.headers.contains_key(header::RETRY_AFTER) {
        parts
            .headers
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    Response::from_parts(parts, Body::from(info.body(request_id).to_string()))
}

/// Writes the record of a request whose future or stream was dropped before it wrote its
/// own (client gone mid-request or mid-stream), with the status and error code given.
struct RecordGuard {
    ctx: Arc<RequestCtx>,
    status: u16,
    code: &'static str,
}

impl RecordGuard {
    fn new(ctx: Arc<RequestCtx>, status: u16, code: &'static str) -> Self {
        Self { ctx, status, code }
    }

    fn rearm(mut self, status: u16, code: &'static str) -> Self {
        self.status = status;
        self.code = code;
        self
    }
}

impl Drop for RecordGuard {
    fn drop(&mut self) {
        if self.ctx.is_committed() {
            return;
        }
        let ctx = self.ctx.clone();
        let (status, code) = (self.status, self.code);
        if let Ok(h) = tokio::runtime::Handle::try_current() {
            h.spawn(async move {
                let _ = ctx
                    .commit(status, Some(Decision::Error { code: code.into() }))
                    .await;
            });
        }
    }
}

struct Guarded<S> {
    inner: S,
    #[allow(dead_code)] // held for its Drop
    guard: RecordGuard,
}

impl<S> Stream for Guarded<S>
where
    S: Stream<Item = Result<Bytes, axum::Error>> + Unpin,
{
    type Item = Result<Bytes, axum::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.inner).poll_next(cx)
    }
}

// ---------------------------------------------------------------------------------------
// Extractors.

/// The authenticated caller of a request, with the request's context.
pub struct Caller {
    /// The principal.
    pub principal: Principal,
    /// The request context.
    pub ctx: Arc<RequestCtx>,
}

impl Caller {
    /// Refuses unless the principal holds `role`.
    pub(crate) fn require(&self, role: Role) -> Result<(), ApiError> {
        if self.principal.has(role) {
            Ok(())
        } else {
            Err(ApiError::MissingRole(format!("`{role}`")))
        }
    }

    /// Refuses unless the principal holds one of `roles`.
    pub(crate) fn require_any(&self, roles: &[Role]) -> Result<(), ApiError> {
        match roles.iter().find(|r| self.principal.has(**r)) {
            Some(_) => Ok(()),
            None => Err(ApiError::MissingRole(
                roles
                    .iter()
                    .map(|r| format!("`{r}`"))
                    .collect::<Vec<_>>()
                    .join(" or "),
            )),
        }
    }

    /// The collections a request may read: the requested ones if every one is granted
    /// (else 403), or all granted ones when none were requested. Recorded for audit. The
    /// names come back typed: only validated names reach the index's prefilter.
    pub(crate) async fn collections(
        &self,
        requested: Option<&[String]>,
    ) -> Result<Vec<CollectionName>, ApiError> {
        let requested: Vec<String> = requested.map(<[String]>::to_vec).unwrap_or_default();
        let granted: Vec<CollectionName> = if requested.is_empty() {
            match &self.principal.grants {
                Grants::Only(v) => v.clone(),
                // Stored names were validated on write; one that fails now (an index
                // edited by hand) is left out, never passed on to a filter.
                Grants::All => self
                    .ctx
                    .state
                    .inner
                    .store
                    .list_collections()
                    .await?
                    .into_iter()
                    .filter_map(|c| CollectionName::new(c.name).ok())
                    .collect(),
            }
        } else {
            let mut v = Vec::with_capacity(requested.len());
            for c in &requested {
                let Ok(name) = CollectionName::new(c.as_str()) else {
                    self.ctx.set_collections(&requested, &[]);
                    return Err(ApiError::BadRequest {
                        code: "invalid_collection",
                        message: "collection names are 1-64 of A-Z a-z 0-9 . _ -".into(),
                    });
                };
                if !self.principal.grants.allows(c) {
                    self.ctx.set_collections(&requested, &[]);
                    return Err(ApiError::CollectionNotGranted(c.clone()));
                }
                if !v.contains(&name) {
                    v.push(name);
                }
            }
            v
        };
        self.ctx.set_collections(&requested, &granted);
        Ok(granted)
    }
}

fn ctx_of(parts: &Parts) -> Result<Arc<RequestCtx>, ApiError> {
    parts
        .extensions
        .get::<Arc<RequestCtx>>()
        .cloned()
        .ok_or_else(|| ApiError::Internal("request layer missing".into()))
}

/// The API key from `Authorization: Bearer <key>` or `x-api-key`.
fn api_key(headers: &HeaderMap) -> Option<&str> {
    if let Some(v) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let v = v.trim();
        if v.len() > 7 && v[..7].eq_ignore_ascii_case("bearer ") {
            return Some(v[7..].trim());
        }
    }
    headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let ctx = ctx_of(parts)?;
        let key = api_key(&parts.headers).ok_or(ApiError::Unauthenticated)?;
        let hash = crate::keys::hash_api_key(key);
        let principal = state
            .inner
            .config
            .principal_by_hash(&hash)
            .cloned()
            .ok_or(ApiError::Unauthenticated)?;
        ctx.set_principal(&principal.id);
        state
            .inner
            .rate
            .check(&principal.id)
            .map_err(|retry_after_s| ApiError::RateLimited { retry_after_s })?;
        Ok(Caller { principal, ctx })
    }
}

/// The role an extractor requires, as a type: which role a handler needs is written in its
/// signature and cannot change with the order of an array.
pub(crate) trait RequiredRole {
    /// The role.
    const ROLE: Role;
}

/// Marker for the `reader` role.
pub(crate) struct ReaderRole;
impl RequiredRole for ReaderRole {
    const ROLE: Role = Role::Reader;
}

/// Marker for the `auditor` role.
pub(crate) struct AuditorRole;
impl RequiredRole for AuditorRole {
    const ROLE: Role = Role::Auditor;
}

/// A caller holding role `R::ROLE`, checked before the body or query is read: a key
/// without the role gets 403 whatever it sent (not 400 for a body it had no right to send).
pub(crate) struct WithRole<R: RequiredRole>(pub Caller, pub std::marker::PhantomData<R>);
/// A caller with the `reader` role.
pub(crate) type AsReader = WithRole<ReaderRole>;
/// A caller with the `auditor` role.
pub(crate) type AsAuditor = WithRole<AuditorRole>;

impl<R: RequiredRole> FromRequestParts<AppState> for WithRole<R> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let caller = Caller::from_request_parts(parts, state).await?;
        caller.require(R::ROLE)?;
        Ok(Self(caller, std::marker::PhantomData))
    }
}

/// A JSON body: any (or no) content type that says JSON, a 413 over the body limit, and
/// 400 with the serde path (values scrubbed) for anything malformed.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        if let Some(ct) = req.headers().get(header::CONTENT_TYPE) {
            let ct = ct.to_str().unwrap_or("").to_ascii_lowercase();
            if !(ct.starts_with("application/json") || ct.contains("+json")) {
                return Err(ApiError::UnsupportedMediaType(
                    "send the body as application/json".into(),
                ));
            }
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|r| body_error(r.status(), state.inner.config.limits.body_bytes))?;
        axum::Json::<T>::from_bytes(&bytes)
            .map(|axum::Json(v)| ApiJson(v))
            .map_err(|r| ApiError::BadRequest {
                code: "bad_json",
                message: scrub_serde_message(&r.body_text()),
            })
    }
}

/// Maps a body-reading failure.
pub(crate) fn body_error(status: StatusCode, limit: u64) -> ApiError {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::BodyTooLarge { limit }
    } else {
        ApiError::BadRequest {
            code: "bad_body",
            message: "the request body could not be read".into(),
        }
    }
}

/// Query parameters, with 400 (values scrubbed) when malformed.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let q = parts.uri.query().unwrap_or("");
        serde_urlencoded_from_str(q)
            .map(ApiQuery)
            .map_err(|m| ApiError::BadRequest {
                code: "bad_query",
                message: scrub_serde_message(&m),
            })
    }
}

fn serde_urlencoded_from_str<T: DeserializeOwned>(q: &str) -> Result<T, String> {
    let uri: axum::http::Uri = format!("/?{q}")
        .parse()
        .map_err(|_| "malformed query string".to_owned())?;
    axum::extract::Query::<T>::try_from_uri(&uri)
        .map(|axum::extract::Query(v)| v)
        .map_err(|e| e.body_text())
}
