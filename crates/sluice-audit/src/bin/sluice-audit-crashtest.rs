//! Crash-test helper: appends records from N threads into an audit directory and prints
//! each acknowledged record id (flushed) only after `append` returned. The crash test kills
//! it with SIGKILL at a random moment and checks every printed id survived.
//!
//! Usage: `sluice-audit-crashtest <dir> <threads> <max_segment_bytes>`

use std::io::Write;
use std::sync::{Arc, Mutex};

use sluice_audit::{
    AuditConfig, AuditLog, AuditSigningKey, Decision, FindingSummary, RecordDraft, RequestRecord,
};

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        eprintln!("usage: sluice-audit-crashtest <dir> <threads> <max_segment_bytes>");
        return std::process::ExitCode::from(2);
    }
    let threads: usize = args[2].parse().unwrap_or(8);
    let seg_bytes: u64 = args[3].parse().unwrap_or(1 << 20);
    let key =
        AuditSigningKey::parse(&"11".repeat(32)).unwrap_or_else(|_| AuditSigningKey::generate());
    let mut cfg = AuditConfig::new(&args[1], key);
    cfg.max_segment_bytes = seg_bytes;
    cfg.index_commit_records = 500;
    let log = match AuditLog::open(cfg) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("open failed: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    println!("READY");
    let _ = std::io::stdout().flush();
    let out = Arc::new(Mutex::new(std::io::stdout()));
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let log = log.clone();
            let out = out.clone();
            std::thread::spawn(move || {
                for i in 0u64.. {
                    let draft = RecordDraft::new(RequestRecord {
                        principal: Some(format!("p{t}")),
                        endpoint: "/v1/ask".into(),
                        decision: Decision::Redacted,
                        findings: vec![FindingSummary {
                            boundary: "prompt".into(),
                            entity: "email".into(),
                            rule: "pii.email".into(),
                            action: "redact".into(),
                            count: 1,
                            value_hmacs: vec![format!("{i:032x}")],
                        }],
                        status: 200,
                        latency_us: i,
                        gateway_version: "crashtest".into(),
                        ..RequestRecord::default()
                    });
                    match log.append(draft) {
                        Ok(id) => {
                            if let Ok(mut o) = out.lock() {
                                let _ = writeln!(o, "{id}");
                                let _ = o.flush();
                            }
                        }
                        Err(e) => {
                            eprintln!("append failed: {e}");
                            return;
                        }
                    }
                }
            })
        })
        .collect();
    for h in handles {
        let _ = h.join();
    }
    std::process::ExitCode::SUCCESS
}
