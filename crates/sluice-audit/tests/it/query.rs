//! Query correctness: the tantivy index against a brute-force scan over 100k records.

use std::collections::HashSet;

use jiff::Timestamp;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sluice_audit::{AuditConfig, AuditIndex, AuditLog, AuditQuery, Page, Record, reindex, scan};

use crate::common;

fn all_pages(
    log: &AuditLog,
    q: &AuditQuery,
    limit: usize,
    newest_first: bool,
) -> (Vec<Record>, u64) {
    let mut page = Page {
        limit,
        newest_first,
        ..Page::default()
    };
    let mut out = Vec::new();
    let mut total = None;
    loop {
        let p = log.query(q, &page).expect("query");
        total.get_or_insert(p.total);
        assert_eq!(total, Some(p.total), "total is stable across pages");
        out.extend(p.records);
        match p.next_cursor {
            Some(c) => page.cursor = Some(c),
            None => break,
        }
    }
    (out, total.unwrap_or(0))
}

fn pick(rng: &mut StdRng, xs: &[&str]) -> Option<String> {
    if rng.gen_bool(0.5) {
        Some(xs[rng.gen_range(0..xs.len())].to_string())
    } else {
        None
    }
}

#[test]
fn index_matches_brute_force_over_100k_records() {
    let t = tempfile::tempdir().expect("tmp");
    let mut cfg = AuditConfig::new(t.path(), common::key());
    cfg.max_segment_bytes = 8 << 20;
    let log = AuditLog::open(cfg).expect("open");
    let mut rng = StdRng::seed_from_u64(100);
    common::fill(&log, 100_000, 5_000, &mut rng);
    log.sync_index().expect("sync");
    assert_eq!(log.status().indexed_through, 100_000);

    let all = scan(t.path(), &AuditQuery::default()).expect("scan");
    assert_eq!(all.len(), 100_000);
    let times: Vec<Timestamp> = all.iter().map(|r| r.ts).collect();

    for i in 0..40 {
        let mut q = AuditQuery {
            principal: pick(&mut rng, common::PRINCIPALS),
            collection: pick(&mut rng, common::COLLECTIONS),
            decision: pick(
                &mut rng,
                &["allowed", "redacted", "blocked", "denied", "error"],
            ),
            entity: pick(&mut rng, common::ENTITIES),
            rule: pick(&mut rng, common::RULES),
            ..AuditQuery::default()
        };
        if rng.gen_bool(0.5) {
            q.since = Some(times[rng.gen_range(0..times.len())]);
        }
        if rng.gen_bool(0.5) {
            q.until = Some(times[rng.gen_range(0..times.len())]);
        }
        if i % 7 == 0 {
            q.endpoint = pick(&mut rng, common::ENDPOINTS);
            q.status = Some(200);
        }
        let want: Vec<&Record> = all.iter().filter(|r| q.matches(r)).collect();
        let newest_first = i % 2 == 1;
        let (got, total) = all_pages(&log, &q, 5_000, newest_first);
        assert_eq!(total as usize, want.len(), "total for {q:?}");
        let mut got_ids: Vec<u64> = got.iter().map(|r| r.seq).collect();
        if newest_first {
            assert!(got_ids.windows(2).all(|w| w[0] > w[1]), "descending order");
            got_ids.reverse();
        } else {
            assert!(got_ids.windows(2).all(|w| w[0] < w[1]), "ascending order");
        }
        let want_ids: Vec<u64> = want.iter().map(|r| r.seq).collect();
        assert_eq!(got_ids, want_ids, "query {q:?}");
        for r in &got {
            assert!(q.matches(r));
        }
    }

    // Offset pagination agrees with the brute force too.
    let q = AuditQuery {
        decision: Some("blocked".into()),
        ..AuditQuery::default()
    };
    let want: Vec<u64> = all.iter().filter(|r| q.matches(r)).map(|r| r.seq).collect();
    let p = log
        .query(
            &q,
            &Page {
                limit: 10,
                offset: 20,
                ..Page::default()
            },
        )
        .expect("query");
    assert_eq!(
        p.records.iter().map(|r| r.seq).collect::<Vec<_>>(),
        want[20..30].to_vec()
    );

    // Single record by id.
    let target = &all[12_345];
    let got = log.get(target.id.as_str()).expect("get").expect("found");
    assert_eq!(&got, target);
    assert!(log.get("01NOTANID0000000000000000").expect("get").is_none());
}

#[test]
fn index_catches_up_on_reopen_and_reindex_rebuilds() {
    let t = tempfile::tempdir().expect("tmp");
    let mut rng = StdRng::seed_from_u64(4);
    {
        // Written without the index.
        let log = AuditLog::open(common::config(t.path())).expect("open");
        common::fill(&log, 300, 100, &mut rng);
    }
    let log = AuditLog::open(AuditConfig::new(t.path(), common::key())).expect("open");
    let q = AuditQuery::default();
    assert_eq!(log.query(&q, &Page::default()).expect("q").total, 300);
    common::fill(&log, 50, 50, &mut rng);
    log.sync_index().expect("sync");
    assert_eq!(log.query(&q, &Page::default()).expect("q").total, 350);
    drop(log);

    assert_eq!(reindex(t.path()).expect("reindex"), 350);
    let ro = AuditIndex::open_read_only(t.path()).expect("ro");
    let p = ro
        .query(
            t.path(),
            &q,
            &Page {
                limit: 1000,
                ..Page::default()
            },
        )
        .expect("q");
    assert_eq!(p.total, 350);
    let ids: HashSet<_> = p.records.iter().map(|r| r.id.clone()).collect();
    assert_eq!(ids.len(), 350);
}

#[test]
fn unknown_decision_is_rejected() {
    let q = AuditQuery {
        decision: Some("maybe".into()),
        ..AuditQuery::default()
    };
    assert!(q.validate().is_err());
    assert!(AuditQuery::default().validate().is_ok());
}
