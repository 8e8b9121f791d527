//! Prometheus metrics (`GET /metrics`): requests by endpoint and status, latency
//! histograms, findings by entity and boundary, blocks, model queue depth, tokens, policy
//! reloads and audit failures. Labels are endpoint templates, entity types, boundaries and
//! rule ids — never values.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// Latency buckets in seconds (5 ms … 120 s).
const LATENCY_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0,
];

/// The process-wide recorder handle (a process has one metrics recorder).
#[derive(Clone)]
pub(crate) struct Metrics {
    handle: Option<PrometheusHandle>,
}

impl Metrics {
    /// Installs the Prometheus recorder on first use; later calls share it. If another
    /// recorder was installed first (an embedding program), `/metrics` renders nothing.
    pub fn global() -> Self {
        static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
        let handle = HANDLE
            .get_or_init(|| {
                let builder = PrometheusBuilder::new()
                    .set_buckets(LATENCY_BUCKETS)
                    .unwrap_or_else(|_| PrometheusBuilder::new());
                match builder.install_recorder() {
                    Ok(h) => Some(h),
                    Err(e) => {
                        tracing::warn!(error = %e, "metrics recorder not installed");
                        None
                    }
                }
            })
            .clone();
        Self { handle }
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        match &self.handle {
            Some(h) => {
                h.run_upkeep();
                h.render()
            }
            None => String::new(),
        }
    }
}

/// One finished request.
pub(crate) fn request(endpoint: &str, status: u16, seconds: f64) {
    metrics::counter!("sluice_http_requests_total", "endpoint" => endpoint.to_owned(), "status" => status.to_string())
        .increment(1);
    metrics::histogram!("sluice_http_request_duration_seconds", "endpoint" => endpoint.to_owned())
        .record(seconds);
}

/// A policy finding.
pub(crate) fn finding(entity: &str, boundary: &str, n: u64) {
    metrics::counter!("sluice_policy_findings_total", "entity" => entity.to_owned(), "boundary" => boundary.to_owned())
        .increment(n);
}

/// A request refused (or a stream stopped) by a `block` action.
pub(crate) fn block(boundary: &str, rule: &str) {
    metrics::counter!("sluice_policy_blocks_total", "boundary" => boundary.to_owned(), "rule" => rule.to_owned())
        .increment(1);
}

/// Tokens in or out.
pub(crate) fn tokens(prompt: u64, completion: u64) {
    metrics::counter!("sluice_model_tokens_total", "kind" => "prompt").increment(prompt);
    metrics::counter!("sluice_model_tokens_total", "kind" => "completion").increment(completion);
}

/// The model queue.
pub(crate) fn queue(depth: usize, in_flight: usize) {
    metrics::gauge!("sluice_model_queue_depth").set(depth as f64);
    metrics::gauge!("sluice_model_in_flight").set(in_flight as f64);
}

/// A policy reload attempt.
pub(crate) fn policy_reload(ok: bool) {
    if ok {
        metrics::counter!("sluice_policy_reloads_total").increment(1);
    } else {
        metrics::counter!("sluice_policy_reload_errors_total").increment(1);
    }
}

/// An audit append that failed (the request was refused).
pub(crate) fn audit_failure() {
    metrics::counter!("sluice_audit_append_errors_total").increment(1);
}
