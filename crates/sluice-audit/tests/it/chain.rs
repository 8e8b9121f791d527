//! Writer, chain, checkpoints, recovery, fail-closed and tamper detection.

use std::fs;
use std::path::Path;

use crate::common::{config, fill, key, random_draft};
use rand::SeedableRng;
use rand::rngs::StdRng;
use sluice_audit::layout::{checkpoint_name, segment_name};
use sluice_audit::{
    AuditLog, AuditSigningKey, BreakKind, Checkpoint, Error, Record, SystemEvent, verify_dir,
};

/// A log of 60 records over several sealed segments plus an active one.
fn build(dir: &Path) -> u64 {
    let mut cfg = config(dir);
    cfg.max_segment_bytes = 4000;
    let log = AuditLog::open(cfg).expect("open");
    let mut rng = StdRng::seed_from_u64(7);
    fill(&log, 60, 5, &mut rng);
    let st = log.status();
    drop(log);
    st.last_seq
}

fn lines_of(dir: &Path, n: u64) -> Vec<String> {
    fs::read_to_string(dir.join(segment_name(n)))
        .expect("read")
        .lines()
        .map(String::from)
        .collect()
}

fn write_lines(dir: &Path, n: u64, lines: &[String]) {
    let mut s = lines.join("\n");
    s.push('\n');
    fs::write(dir.join(segment_name(n)), s).expect("write");
}

#[test]
fn clean_log_verifies_with_counts_and_checkpoints() {
    let t = tempfile::tempdir().expect("tmp");
    let last = build(t.path());
    assert_eq!(last, 60);
    let r = verify_dir(t.path(), Some(&key().verifying_key())).expect("verify");
    assert!(r.is_ok(), "{:?}", r.first_break);
    assert_eq!(r.records, 60);
    assert_eq!(r.first_seq, 1);
    assert_eq!(r.last_seq, 60);
    assert!(r.segments >= 3, "segments {}", r.segments);
    assert_eq!(r.checkpoints, r.segments - 1);
    assert!(r.key_supplied);
    // Reopen continues the chain in a new segment after a sealed one, or the active one.
    let log = AuditLog::open(config(t.path())).expect("reopen");
    let mut rng = StdRng::seed_from_u64(1);
    log.append(random_draft(&mut rng)).expect("append");
    log.rotate().expect("rotate");
    log.append(random_draft(&mut rng)).expect("append");
    drop(log);
    let r = verify_dir(t.path(), None).expect("verify");
    assert!(r.is_ok(), "{:?}", r.first_break);
    assert_eq!(r.last_seq, 62);
}

#[test]
fn records_hold_no_raw_text_and_ids_are_request_ids() {
    let t = tempfile::tempdir().expect("tmp");
    let log = AuditLog::open(config(t.path())).expect("open");
    let hk = sluice_audit::HmacKey::new(vec![9; 32]);
    let secret = "john.doe@example.com";
    let mut d = random_draft(&mut StdRng::seed_from_u64(3));
    d.request.findings = vec![sluice_audit::FindingSummary {
        boundary: "prompt".into(),
        entity: "email".into(),
        rule: "pii.email".into(),
        action: "redact".into(),
        count: 1,
        value_hmacs: vec![sluice_audit::value_hmac(&hk, "email", secret)],
    }];
    let want = d.id.clone();
    let id = log.append(d).expect("append");
    assert_eq!(id, want);
    assert_eq!(id.as_str().len(), 26);
    drop(log);
    let text = fs::read_to_string(t.path().join(segment_name(1))).expect("read");
    assert!(!text.contains(secret));
    assert!(text.contains(&sluice_audit::value_hmac(&hk, "email", secret)));
    let rec: Record = serde_json::from_str(text.lines().next().expect("line")).expect("parse");
    assert_eq!(rec.id, want);
    assert_eq!(rec.seq, 1);
    assert_eq!(rec.prev_hash, sluice_audit::record::GENESIS_HASH);
}

#[test]
fn tamper_flip_one_byte() {
    let t = tempfile::tempdir().expect("tmp");
    build(t.path());
    let mut l = lines_of(t.path(), 2);
    l[2] = l[2].replacen(
        "\"gateway_version\":\"test\"",
        "\"gateway_version\":\"tesu\"",
        1,
    );
    write_lines(t.path(), 2, &l);
    let b = verify_dir(t.path(), None)
        .expect("verify")
        .first_break
        .expect("break");
    assert_eq!(b.kind, BreakKind::HashMismatch);
    assert_eq!(b.segment, segment_name(2));
    assert_eq!(b.line, Some(3));
}

#[test]
fn tamper_flip_raw_byte_anywhere_is_detected() {
    let t = tempfile::tempdir().expect("tmp");
    build(t.path());
    let p = t.path().join(segment_name(1));
    let mut bytes = fs::read(&p).expect("read");
    let line2_start = bytes.iter().position(|&b| b == b'\n').expect("nl") + 1;
    bytes[line2_start + 40] ^= 0x01;
    fs::write(&p, bytes).expect("write");
    let b = verify_dir(t.path(), None)
        .expect("verify")
        .first_break
        .expect("break");
    assert_eq!(b.segment, segment_name(1));
    assert_eq!(b.line, Some(2));
}

#[test]
fn tamper_delete_a_line() {
    let t = tempfile::tempdir().expect("tmp");
    build(t.path());
    let mut l = lines_of(t.path(), 2);
    l.remove(3);
    write_lines(t.path(), 2, &l);
    let b = verify_dir(t.path(), None)
        .expect("verify")
        .first_break
        .expect("break");
    assert_eq!(b.kind, BreakKind::RecordsMissing);
    assert_eq!(
        (b.segment.as_str(), b.line),
        (segment_name(2).as_str(), Some(4))
    );
}

#[test]
fn tamper_swap_two_lines() {
    let t = tempfile::tempdir().expect("tmp");
    build(t.path());
    let mut l = lines_of(t.path(), 2);
    l.swap(1, 2);
    write_lines(t.path(), 2, &l);
    let b = verify_dir(t.path(), None)
        .expect("verify")
        .first_break
        .expect("break");
    assert_eq!(b.segment, segment_name(2));
    assert_eq!(b.line, Some(2));
    assert!(matches!(
        b.kind,
        BreakKind::RecordsMissing | BreakKind::OutOfOrder
    ));
}

#[test]
fn tamper_truncate_sealed_segment_at_line_boundary() {
    let t = tempfile::tempdir().expect("tmp");
    build(t.path());
    let l = lines_of(t.path(), 1);
    let n = l.len();
    write_lines(t.path(), 1, &l[..n - 2]);
    let b = verify_dir(t.path(), None)
        .expect("verify")
        .first_break
        .expect("break");
    // Either the checkpoint disagrees, or the next segment's first record no longer links.
    assert_eq!(b.kind, BreakKind::CheckpointMismatch);
    assert_eq!(b.segment, segment_name(1));
    assert_eq!(b.line, Some(n as u64 - 1));
}

#[test]
fn tamper_truncate_mid_line() {
    let t = tempfile::tempdir().expect("tmp");
    build(t.path());
    let p = t.path().join(segment_name(2));
    let len = fs::metadata(&p).expect("meta").len();
    let f = fs::OpenOptions::new().write(true).open(&p).expect("open");
    f.set_len(len - 30).expect("truncate");
    let b = verify_dir(t.path(), None)
        .expect("verify")
        .first_break
        .expect("break");
    assert_eq!(b.kind, BreakKind::InvalidLine);
    assert_eq!(b.segment, segment_name(2));
    assert_eq!(b.line, Some(lines_of(t.path(), 2).len() as u64));
}

#[test]
fn tamper_delete_middle_segment() {
    let t = tempfile::tempdir().expect("tmp");
    build(t.path());
    fs::remove_file(t.path().join(segment_name(2))).expect("rm");
    let b = verify_dir(t.path(), None)
        .expect("verify")
        .first_break
        .expect("break");
    assert_eq!(b.kind, BreakKind::SegmentMissing);
    assert_eq!(b.segment, segment_name(2));
    // Deleting its checkpoint too does not hide it.
    fs::remove_file(t.path().join(checkpoint_name(2))).expect("rm");
    let b = verify_dir(t.path(), None)
        .expect("verify")
        .first_break
        .expect("break");
    assert_eq!(b.kind, BreakKind::SegmentMissing);
}

#[test]
fn tamper_delete_first_segment_without_retention() {
    let t = tempfile::tempdir().expect("tmp");
    build(t.path());
    fs::remove_file(t.path().join(segment_name(1))).expect("rm");
    fs::remove_file(t.path().join(checkpoint_name(1))).expect("rm");
    let b = verify_dir(t.path(), None)
        .expect("verify")
        .first_break
        .expect("break");
    assert_eq!(b.kind, BreakKind::UnexplainedStart);
    assert_eq!(
        (b.segment.as_str(), b.line),
        (segment_name(2).as_str(), Some(1))
    );
}

#[test]
fn tamper_replace_checkpoint() {
    let t = tempfile::tempdir().expect("tmp");
    build(t.path());
    let cp_path = t.path().join(checkpoint_name(2));
    let orig = Checkpoint::read(&cp_path).expect("cp");

    // 1. Edited fields, old signature.
    let mut edited = orig.clone();
    edited.count -= 1;
    fs::write(&cp_path, serde_json::to_vec(&edited).expect("json")).expect("write");
    let b = verify_dir(t.path(), None)
        .expect("verify")
        .first_break
        .expect("break");
    assert_eq!(b.kind, BreakKind::CheckpointForged);
    assert_eq!(b.segment, checkpoint_name(2));

    // 2. Consistent fields re-signed by an attacker's key.
    let forged = orig
        .clone()
        .sign(&AuditSigningKey::generate())
        .expect("sign");
    fs::write(&cp_path, serde_json::to_vec(&forged).expect("json")).expect("write");
    let trusted = key().verifying_key();
    let b = verify_dir(t.path(), Some(&trusted))
        .expect("verify")
        .first_break
        .expect("break");
    assert_eq!(b.kind, BreakKind::CheckpointForged);
    // Even without --pubkey: it differs from the first checkpoint's key.
    let b = verify_dir(t.path(), None)
        .expect("verify")
        .first_break
        .expect("break");
    assert_eq!(b.kind, BreakKind::CheckpointForged);

    // 3. Another segment's genuine checkpoint copied over it.
    fs::copy(t.path().join(checkpoint_name(1)), &cp_path).expect("copy");
    let b = verify_dir(t.path(), Some(&trusted))
        .expect("verify")
        .first_break
        .expect("break");
    assert_eq!(b.kind, BreakKind::CheckpointMismatch);
    assert_eq!(b.segment, segment_name(2));

    // 4. Whole log signed with another key: only --pubkey catches it.
    fs::write(&cp_path, serde_json::to_vec(&orig).expect("json")).expect("write");
    assert!(
        verify_dir(t.path(), Some(&trusted))
            .expect("verify")
            .is_ok()
    );
    let other = AuditSigningKey::generate().verifying_key();
    let b = verify_dir(t.path(), Some(&other))
        .expect("verify")
        .first_break
        .expect("break");
    assert_eq!(
        (b.kind, b.segment.as_str()),
        (BreakKind::CheckpointForged, checkpoint_name(1).as_str())
    );
}

#[test]
fn torn_tail_is_reported_then_sealed_by_recovery() {
    let t = tempfile::tempdir().expect("tmp");
    build(t.path());
    let (segs, _) = sluice_audit::layout::list_dir(t.path()).expect("ls");
    let last = *segs.last().expect("seg");
    let p = t.path().join(segment_name(last));
    let before = fs::read(&p).expect("read");
    let mut torn = before.clone();
    torn.extend_from_slice(b"{\"hash\":\"abc\",\"seq\":6");
    fs::write(&p, &torn).expect("write");

    let r = verify_dir(t.path(), None).expect("verify");
    assert!(r.is_ok(), "a torn tail alone is not tampering");
    let tt = r.torn_tail.expect("torn reported");
    assert_eq!(tt.segment, segment_name(last));
    assert_eq!(tt.bytes, 21);

    let log = AuditLog::open(config(t.path())).expect("recover");
    let st = log.status();
    match st.recovered {
        Some(SystemEvent::Recovery {
            torn_bytes,
            ref moved_to,
            ..
        }) => {
            assert_eq!(torn_bytes, 21);
            let moved = fs::read(t.path().join(moved_to)).expect("torn file");
            assert_eq!(moved, b"{\"hash\":\"abc\",\"seq\":6");
        }
        ref other => panic!("expected a recovery event, got {other:?}"),
    }
    assert_eq!(st.last_seq, 61, "60 records + the recovery event");
    drop(log);
    let r = verify_dir(t.path(), None).expect("verify");
    assert!(r.is_ok(), "{:?}", r.first_break);
    assert!(r.torn_tail.is_none());
    assert_eq!(r.recoveries.len(), 1);
    assert_eq!(r.records, 61);
    assert!(fs::read(&p).expect("read").starts_with(&before));
}

#[test]
fn damage_before_the_tail_refuses_to_open() {
    let t = tempfile::tempdir().expect("tmp");
    let log = AuditLog::open(config(t.path())).expect("open");
    fill(&log, 10, 10, &mut StdRng::seed_from_u64(2));
    drop(log);
    let mut l = lines_of(t.path(), 1);
    l[4] = l[4].replacen("\"test\"", "\"tesu\"", 1);
    write_lines(t.path(), 1, &l);
    match AuditLog::open(config(t.path())) {
        Err(Error::Corrupt { segment, line, .. }) => {
            assert_eq!(segment, segment_name(1));
            assert_eq!(line, 5);
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

#[test]
fn fail_closed_when_the_directory_becomes_unwritable() {
    let t = tempfile::tempdir().expect("tmp");
    let dir = t.path().join("audit");
    let mut cfg = config(&dir);
    cfg.max_segment_bytes = 1;
    let log = AuditLog::open(cfg).expect("open");
    let mut rng = StdRng::seed_from_u64(5);
    log.append(random_draft(&mut rng)).expect("first append");
    fs::remove_dir_all(&dir).expect("rm");
    let e = log.append(random_draft(&mut rng)).expect_err("must refuse");
    assert!(e.is_unavailable(), "{e}");
    // Stays refused, and says why.
    let e2 = log
        .append(random_draft(&mut rng))
        .expect_err("still refused");
    assert!(matches!(e2, Error::Unavailable(_)));
    assert!(log.status().failed.is_some());
}

#[test]
fn unwritable_directory_fails_at_open() {
    let t = tempfile::tempdir().expect("tmp");
    let file = t.path().join("not-a-dir");
    fs::write(&file, b"x").expect("write");
    let e = AuditLog::open(config(&file.join("audit"))).expect_err("must fail");
    assert!(e.is_unavailable());
}

#[test]
fn second_writer_is_locked_out() {
    let t = tempfile::tempdir().expect("tmp");
    let _log = AuditLog::open(config(t.path())).expect("open");
    assert!(matches!(
        AuditLog::open(config(t.path())),
        Err(Error::Locked(_))
    ));
}

#[test]
fn concurrent_appends_share_fsyncs_and_chain_stays_valid() {
    let t = tempfile::tempdir().expect("tmp");
    let mut cfg = config(t.path());
    cfg.max_segment_bytes = 64 * 1024;
    let log = AuditLog::open(cfg).expect("open");
    std::thread::scope(|s| {
        for i in 0..16 {
            let log = log.clone();
            s.spawn(move || {
                let mut rng = StdRng::seed_from_u64(i);
                for _ in 0..200 {
                    log.append(random_draft(&mut rng)).expect("append");
                }
            });
        }
    });
    assert_eq!(log.status().last_seq, 3200);
    drop(log);
    let r = verify_dir(t.path(), None).expect("verify");
    assert!(r.is_ok(), "{:?}", r.first_break);
    assert_eq!(r.records, 3200);
    assert!(r.checkpoints >= 1);
}

#[test]
fn async_append_resolves_after_write() {
    let t = tempfile::tempdir().expect("tmp");
    let log = AuditLog::open(config(t.path())).expect("open");
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("rt");
    let mut rng = StdRng::seed_from_u64(11);
    let futs: Vec<_> = (0..50)
        .map(|_| log.append_async(random_draft(&mut rng)))
        .collect();
    let ids = rt.block_on(async {
        let mut ids = Vec::new();
        for f in futs {
            ids.push(f.await.expect("append"));
        }
        ids
    });
    let text = fs::read_to_string(t.path().join(segment_name(1))).expect("read");
    for id in &ids {
        assert!(text.contains(id.as_str()));
    }
}

#[test]
fn retention_deletes_whole_segments_and_chain_still_verifies() {
    let t = tempfile::tempdir().expect("tmp");
    build(t.path());
    let mut cfg = config(t.path());
    cfg.max_segment_bytes = 4000;
    let log = AuditLog::open(cfg).expect("open");
    let report = log
        .apply_retention(jiff::Timestamp::now() + jiff::SignedDuration::from_secs(1))
        .expect("retention");
    assert!(!report.deleted.is_empty());
    assert!(!t.path().join(segment_name(1)).exists());
    fill(&log, 5, 5, &mut StdRng::seed_from_u64(9));
    drop(log);
    let r = verify_dir(t.path(), None).expect("verify");
    assert!(r.is_ok(), "{:?}", r.first_break);
    assert_eq!(r.retentions, 1);
    assert_eq!(r.first_seq, report.through_seq + 1);
    // The retention event itself is in the chain, and a later prefix deletion without one
    // is caught.
    let (segs, _) = sluice_audit::layout::list_dir(t.path()).expect("ls");
    fs::remove_file(t.path().join(segment_name(segs[0]))).expect("rm");
    let _ = fs::remove_file(t.path().join(checkpoint_name(segs[0])));
    let b = verify_dir(t.path(), None)
        .expect("verify")
        .first_break
        .expect("break");
    assert_eq!(b.kind, BreakKind::UnexplainedStart);
}
