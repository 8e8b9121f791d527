//! Crash suite: a child process appends from 8 threads and is killed with SIGKILL at a
//! random moment; after recovery every acknowledged record is present and the chain
//! verifies, with at most a torn tail reported per crash.

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use rand::{Rng, SeedableRng};
use sluice_audit::{AuditLog, AuditQuery, scan, verify_dir};

use crate::common;

const DIRS: usize = 10;
const RUNS_PER_DIR: usize = 5;

#[test]
fn sigkill_at_random_points_loses_no_acknowledged_record() {
    let exe = env!("CARGO_BIN_EXE_sluice-audit-crashtest");
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x5eed);
    let mut total_acked = 0usize;
    let mut total_recoveries = 0usize;
    for d in 0..DIRS {
        let t = tempfile::tempdir().expect("tmp");
        let mut acked: Vec<String> = Vec::new();
        for run in 0..RUNS_PER_DIR {
            // Small segments so that kills also land around rotations.
            let seg_bytes = if d % 2 == 0 { 16 * 1024 } else { 1 << 20 };
            let mut child = Command::new(exe)
                .arg(t.path())
                .arg("8")
                .arg(seg_bytes.to_string())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn");
            let stdout = child.stdout.take().expect("stdout");
            let reader = std::thread::spawn(move || {
                let mut ids = Vec::new();
                let mut r = BufReader::new(stdout);
                let mut line = String::new();
                while r.read_line(&mut line).map(|n| n > 0).unwrap_or(false) {
                    // Only complete lines count as acknowledged.
                    if line.ends_with('\n') && line.trim() != "READY" {
                        ids.push(line.trim().to_string());
                    }
                    line.clear();
                }
                ids
            });
            std::thread::sleep(Duration::from_millis(rng.gen_range(30..160)));
            child.kill().expect("SIGKILL");
            let status = child.wait().expect("wait");
            assert!(!status.success());
            let ids = reader.join().expect("reader");
            acked.extend(ids);

            // Recovery: reopen (seals a torn tail if any), then verify and look for every id.
            let log = AuditLog::open(common::config(t.path())).expect("recover");
            drop(log);
            let report = verify_dir(t.path(), None).expect("verify");
            assert!(
                report.is_ok(),
                "dir {d} run {run}: {:?}",
                report.first_break
            );
            assert!(report.torn_tail.is_none());
            assert!(
                report.recoveries.len() <= run + 1,
                "at most one torn tail per crash"
            );
            for (_, _, bytes) in &report.recoveries {
                assert!(
                    *bytes < 4096,
                    "only a torn last line is cut, got {bytes} bytes"
                );
            }
            let present: HashSet<String> = scan(t.path(), &AuditQuery::default())
                .expect("scan")
                .into_iter()
                .map(|r| r.id.to_string())
                .collect();
            for id in &acked {
                assert!(
                    present.contains(id),
                    "dir {d} run {run}: acknowledged {id} lost"
                );
            }
            if run + 1 == RUNS_PER_DIR {
                total_recoveries += report.recoveries.len();
            }
        }
        assert!(
            !acked.is_empty(),
            "the child acknowledged nothing in dir {d}"
        );
        total_acked += acked.len();
    }
    eprintln!(
        "{} crash runs, {total_acked} acknowledged records, {total_recoveries} torn tails sealed",
        DIRS * RUNS_PER_DIR
    );
}
