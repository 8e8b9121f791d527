//! Text and JSON reports.

use serde::{Deserialize, Serialize};

use crate::error::EvalError;
use crate::score::SettingResult;

/// Version of the JSON report layout.
pub const REPORT_VERSION: u32 = 1;

/// The JSON report: every setting with its summary and per-question records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// [`REPORT_VERSION`].
    pub version: u32,
    /// One entry per setting.
    pub settings: Vec<SettingResult>,
}

/// The JSON report (pretty-printed).
pub fn render_json(results: &[SettingResult]) -> Result<String, EvalError> {
    let report = Report {
        version: REPORT_VERSION,
        settings: results.to_vec(),
    };
    Ok(serde_json::to_string_pretty(&report)?)
}

/// Reads a JSON report written by [`render_json`] (e.g. to render HTML later).
pub fn parse_json(text: &str) -> Result<Vec<SettingResult>, EvalError> {
    let report: Report = serde_json::from_str(text)?;
    Ok(report.settings)
}

/// `0.873` → `87.3%`; `None` → `-`.
pub(crate) fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| format!("{:.1}%", v * 100.0))
}

/// `0.873` → `0.87`; `None` → `-`.
pub(crate) fn ratio(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| format!("{v:.2}"))
}

/// Milliseconds, rounded; `None` → `-`.
pub(crate) fn ms(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| format!("{v:.0}"))
}

/// The summary table's header and one row of cells per setting (shared with the HTML).
pub(crate) fn summary_rows(results: &[SettingResult]) -> (Vec<&'static str>, Vec<Vec<String>>) {
    let header = vec![
        "setting",
        "n",
        "pass",
        "recall@k",
        "MRR",
        "facts",
        "cite P",
        "cite R",
        "grounded",
        "refusal",
        "adv ok",
        "leaks",
        "ttft p50",
        "total p50",
        "total p90",
    ];
    let rows = results
        .iter()
        .map(|r| {
            let s = &r.summary;
            vec![
                r.setting.label(),
                format!("{}/{}/{}", s.answerable, s.off_topic, s.adversarial),
                pct(s.pass_rate),
                pct(s.retrieval_recall),
                ratio(s.mrr),
                pct(s.fact_recall),
                pct(s.citation_precision),
                pct(s.citation_recall),
                pct(s.groundedness),
                pct(s.refusal_accuracy),
                pct(s.adversarial_pass),
                s.leaks.to_string(),
                ms(s.first_token_p50_ms),
                ms(s.total_p50_ms),
                ms(s.total_p90_ms),
            ]
        })
        .collect();
    (header, rows)
}

/// A plain-text table, one row per setting. Latencies in ms; `n` is
/// answerable/off-topic/adversarial; `refusal` is the off-topic refusal accuracy.
pub fn render_table(results: &[SettingResult]) -> String {
    let (header, rows) = summary_rows(results);
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut out = String::new();
        for (i, (cell, w)) in cells.zip(&widths).enumerate() {
            let pad = w.saturating_sub(cell.chars().count());
            if i == 0 {
                out.push_str(cell);
                out.push_str(&" ".repeat(pad));
            } else {
                out.push_str("  ");
                out.push_str(&" ".repeat(pad));
                out.push_str(cell);
            }
        }
        out.trim_end().to_owned() + "\n"
    };
    let mut out = line(&mut header.iter().copied());
    let total: usize = widths.iter().sum::<usize>() + 2 * widths.len().saturating_sub(1);
    out.push_str(&"-".repeat(total));
    out.push('\n');
    for row in &rows {
        out.push_str(&line(&mut row.iter().map(String::as_str)));
    }
    out
}
