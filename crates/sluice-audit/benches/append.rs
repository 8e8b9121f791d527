//! Audit log benchmark (harness = false; prints a table).
//!
//! `cargo bench -p sluice-audit --bench append` — 100k-record log for verify/query;
//! `SLUICE_BENCH_1M=1` for 1M records.

#![allow(missing_docs)]

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sluice_audit::{
    AuditConfig, AuditLog, AuditQuery, AuditSigningKey, Decision, FindingSummary, Page,
    RecordDraft, RequestRecord, verify_dir,
};

fn draft(rng: &mut StdRng) -> RecordDraft {
    const P: &[&str] = &["alice", "bob", "carol", "dave", "eve", "svc"];
    const E: &[&str] = &["email", "iban", "phone", "ssn", "name"];
    const C: &[&str] = &["hr", "finance", "legal", "eng", "public"];
    let e = E[rng.gen_range(0..E.len())];
    RecordDraft::new(RequestRecord {
        principal: Some(P[rng.gen_range(0..P.len())].into()),
        client_addr: Some("10.1.2.3:5555".into()),
        endpoint: "/v1/ask".into(),
        collections_requested: vec![C[rng.gen_range(0..C.len())].into()],
        collections_granted: vec![C[rng.gen_range(0..C.len())].into()],
        collections_rejected: 0,
        findings: vec![FindingSummary {
            boundary: "prompt".into(),
            entity: e.into(),
            rule: format!("pii.{e}"),
            action: "redact".into(),
            count: 1,
            value_hmacs: vec![format!("{:032x}", rng.r#gen::<u128>())],
        }],
        decision: match rng.gen_range(0..4) {
            0 => Decision::Allowed,
            1 | 2 => Decision::Redacted,
            _ => Decision::Blocked {
                rule: format!("pii.{e}"),
            },
        },
        chunk_ids: vec!["c1".into(), "c2".into(), "c3".into()],
        doc_ids: vec!["d1".into()],
        model: Some("smollm2-135m".into()),
        tokens_in: Some(300),
        tokens_out: Some(120),
        latency_us: rng.gen_range(1000..900_000),
        status: 200,
        policy_version: Some("sha256:abc".into()),
        gateway_version: "0.1.0".into(),
        redacted_prompt: None,
        redacted_answer: None,
    })
}

fn cfg(dir: &std::path::Path, index: bool) -> AuditConfig {
    let mut c = AuditConfig::new(dir, AuditSigningKey::generate());
    c.index = index;
    c
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn sustained(index: bool, threads: usize, secs: u64) -> (f64, u64) {
    let t = tempfile::tempdir().expect("tmp");
    let log = AuditLog::open(cfg(t.path(), index)).expect("open");
    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let hs: Vec<_> = (0..threads)
        .map(|i| {
            let (log, stop, count) = (log.clone(), stop.clone(), count.clone());
            std::thread::spawn(move || {
                let mut rng = StdRng::seed_from_u64(i as u64);
                while !stop.load(Ordering::Relaxed) {
                    log.append(draft(&mut rng)).expect("append");
                    count.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(secs));
    stop.store(true, Ordering::Relaxed);
    for h in hs {
        h.join().expect("join");
    }
    let n = count.load(Ordering::Relaxed);
    let rate = n as f64 / start.elapsed().as_secs_f64();
    drop(log);
    let r = verify_dir(t.path(), None).expect("verify");
    assert!(r.is_ok());
    (rate, n)
}

fn paced(rate: u64, secs: u64, index: bool) -> (f64, f64, f64, usize) {
    let t = tempfile::tempdir().expect("tmp");
    let log = AuditLog::open(cfg(t.path(), index)).expect("open");
    let threads = 16u64;
    let per_thread = Duration::from_nanos(1_000_000_000 * threads / rate);
    let lat = Arc::new(Mutex::new(Vec::new()));
    let start = Instant::now() + Duration::from_millis(50);
    let hs: Vec<_> = (0..threads)
        .map(|i| {
            let (log, lat) = (log.clone(), lat.clone());
            std::thread::spawn(move || {
                let mut rng = StdRng::seed_from_u64(i);
                let mut next = start + per_thread * i as u32 / threads as u32;
                let end = start + Duration::from_secs(secs);
                let mut mine = Vec::new();
                while next < end {
                    let now = Instant::now();
                    if next > now {
                        std::thread::sleep(next - now);
                    }
                    let d = draft(&mut rng);
                    let t0 = Instant::now();
                    log.append(d).expect("append");
                    mine.push(t0.elapsed().as_secs_f64() * 1e3);
                    next += per_thread;
                }
                if let Ok(mut l) = lat.lock() {
                    l.extend(mine);
                }
            })
        })
        .collect();
    for h in hs {
        h.join().expect("join");
    }
    let mut v = lat.lock().map(|l| l.clone()).unwrap_or_default();
    let n = v.len();
    (pct(&mut v, 0.5), pct(&mut v, 0.99), pct(&mut v, 0.999), n)
}

fn main() {
    let n_big: usize = if std::env::var("SLUICE_BENCH_1M").is_ok() {
        1_000_000
    } else {
        100_000
    };
    println!(
        "sluice-audit benchmark ({} cores)",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!();
    println!("| measurement | value |");
    println!("|---|---|");
    for (index, label) in [(false, "index off"), (true, "index on")] {
        let (rate, n) = sustained(index, 64, 5);
        println!(
            "| sustained append, 64 writers, fsync group commit, {label} | {rate:.0} records/s ({n} in 5 s) |"
        );
    }
    for index in [false, true] {
        let (p50, p99, p999, n) = paced(2000, 5, index);
        println!(
            "| append latency at 2k records/s, index {} | p50 {p50:.3} ms, p99 {p99:.3} ms, p99.9 {p999:.3} ms ({n} samples) |",
            if index { "on" } else { "off" }
        );
    }

    // Build the big log once.
    let t = tempfile::tempdir().expect("tmp");
    let mut c = cfg(t.path(), true);
    c.index_commit_records = 100_000;
    let log = AuditLog::open(c).expect("open");
    let mut rng = StdRng::seed_from_u64(1);
    let t0 = Instant::now();
    let mut done = 0;
    while done < n_big {
        let k = 10_000.min(n_big - done);
        log.append_many((0..k).map(|_| draft(&mut rng)).collect())
            .expect("append");
        done += k;
        if done % 200_000 == 0 {
            eprintln!(
                "  built {done}/{n_big} records ({:.1} s)",
                t0.elapsed().as_secs_f64()
            );
        }
    }
    log.sync_index().expect("sync");
    let build = t0.elapsed().as_secs_f64();
    println!(
        "| build {n_big}-record log (batches of 10k) + index | {build:.1} s ({:.0} records/s) |",
        n_big as f64 / build
    );

    let t1 = Instant::now();
    let r = verify_dir(t.path(), None).expect("verify");
    let vs = t1.elapsed().as_secs_f64();
    assert!(r.is_ok());
    println!(
        "| verify {} records, {} segments | {vs:.2} s = {:.0} records/s |",
        r.records,
        r.segments,
        r.records as f64 / vs
    );

    let queries: Vec<(&str, AuditQuery)> = vec![
        (
            "principal=alice",
            AuditQuery {
                principal: Some("alice".into()),
                ..AuditQuery::default()
            },
        ),
        (
            "decision=blocked, entity=iban",
            AuditQuery {
                decision: Some("blocked".into()),
                entity: Some("iban".into()),
                ..AuditQuery::default()
            },
        ),
        (
            "rule=pii.email, collection=hr",
            AuditQuery {
                rule: Some("pii.email".into()),
                collection: Some("hr".into()),
                ..AuditQuery::default()
            },
        ),
        ("principal=bob, last 10% of time", {
            let p = log
                .query(
                    &AuditQuery::default(),
                    &Page {
                        limit: 1,
                        offset: n_big * 9 / 10,
                        ..Page::default()
                    },
                )
                .expect("q");
            AuditQuery {
                principal: Some("bob".into()),
                since: p.records.first().map(|r| r.ts),
                ..AuditQuery::default()
            }
        }),
    ];
    for (label, q) in &queries {
        for newest in [false, true] {
            let mut v = Vec::new();
            let mut total = 0;
            for _ in 0..30 {
                let t = Instant::now();
                let p = log
                    .query(
                        q,
                        &Page {
                            limit: 100,
                            newest_first: newest,
                            ..Page::default()
                        },
                    )
                    .expect("q");
                v.push(t.elapsed().as_secs_f64() * 1e3);
                total = p.total;
            }
            println!(
                "| query over {n_big}: {label}{}, limit 100 ({total} matches) | p50 {:.2} ms, p99 {:.2} ms |",
                if newest { ", newest first" } else { "" },
                pct(&mut v, 0.5),
                pct(&mut v, 0.99)
            );
        }
    }
}
