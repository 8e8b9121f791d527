//! `sluice audit ...`: verify, query, export, reindex, keygen.
//!
//! Exit codes: 0 ok, 1 verification failed, 2 usage or I/O error.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use sluice_audit::query::{CSV_HEADER, write_csv_row, write_json_line};
use sluice_audit::{
    AuditIndex, AuditQuery, AuditSigningKey, Page, Record, parse_public_key, parse_time_arg,
};

/// Audit log commands.
#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: AuditCommand,
}

/// `sluice audit` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum AuditCommand {
    /// Walk all segments and checkpoints; report OK with counts or the first broken link.
    Verify {
        /// Audit directory (default: <data_dir>/audit).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Trusted checkpoint public key: 64 hex chars, or a file with hex or PEM.
        #[arg(long, env = "SLUICE_AUDIT_PUBKEY")]
        pubkey: Option<String>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Search the audit records (through the index).
    Query {
        /// Audit directory (default: <data_dir>/audit).
        #[arg(long)]
        dir: Option<PathBuf>,
        #[command(flatten)]
        filters: Filters,
        /// Maximum records to print.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Skip this many matches.
        #[arg(long, default_value_t = 0)]
        offset: usize,
        /// Newest first.
        #[arg(long)]
        newest_first: bool,
        /// JSON lines output.
        #[arg(long, conflicts_with = "csv")]
        json: bool,
        /// CSV output.
        #[arg(long)]
        csv: bool,
    },
    /// Export all (or filtered) records to stdout as JSON lines or CSV.
    Export {
        /// Audit directory (default: <data_dir>/audit).
        #[arg(long)]
        dir: Option<PathBuf>,
        #[command(flatten)]
        filters: Filters,
        /// Output format.
        #[arg(long, value_enum, default_value = "jsonl")]
        format: ExportFormat,
    },
    /// Rebuild the search index from the segments (stop the gateway first).
    Reindex {
        /// Audit directory (default: <data_dir>/audit).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Write a new Ed25519 checkpoint signing key (PEM, mode 0600) and print its public key.
    Keygen {
        /// Where to write the key.
        #[arg(long)]
        out: PathBuf,
    },
}

/// Export formats.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ExportFormat {
    /// One JSON object per line.
    Jsonl,
    /// CSV with a header row.
    Csv,
}

/// Query filters (all must match).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Filters {
    /// From this time (RFC 3339, or an age like 24h, 7d).
    #[arg(long)]
    pub since: Option<String>,
    /// Until this time (exclusive; RFC 3339 or an age).
    #[arg(long)]
    pub until: Option<String>,
    /// Principal id.
    #[arg(long)]
    pub principal: Option<String>,
    /// Collection requested or granted.
    #[arg(long)]
    pub collection: Option<String>,
    /// allowed | redacted | blocked | denied | error | event.
    #[arg(long)]
    pub decision: Option<String>,
    /// Entity among the findings.
    #[arg(long)]
    pub entity: Option<String>,
    /// Rule id among the findings or the blocking rule.
    #[arg(long)]
    pub rule: Option<String>,
    /// Endpoint path.
    #[arg(long)]
    pub endpoint: Option<String>,
    /// HTTP status.
    #[arg(long)]
    pub status: Option<u16>,
}

impl Filters {
    fn to_query(&self) -> anyhow::Result<AuditQuery> {
        let q = AuditQuery {
            since: self.since.as_deref().map(parse_time_arg).transpose()?,
            until: self.until.as_deref().map(parse_time_arg).transpose()?,
            principal: self.principal.clone(),
            collection: self.collection.clone(),
            decision: self.decision.clone(),
            entity: self.entity.clone(),
            rule: self.rule.clone(),
            endpoint: self.endpoint.clone(),
            status: self.status,
        };
        q.validate()?;
        Ok(q)
    }
}

/// Run `sluice audit ...`.
pub fn run(args: AuditArgs, data_dir: &Path) -> anyhow::Result<ExitCode> {
    let default_dir = || data_dir.join("audit");
    let res = match args.command {
        AuditCommand::Verify { dir, pubkey, json } => {
            verify(&dir.unwrap_or_else(default_dir), pubkey.as_deref(), json)
        }
        AuditCommand::Query {
            dir,
            filters,
            limit,
            offset,
            newest_first,
            json,
            csv,
        } => query(
            &dir.unwrap_or_else(default_dir),
            &filters,
            Page {
                limit,
                offset,
                cursor: None,
                newest_first,
            },
            if json {
                Out::Json
            } else if csv {
                Out::Csv
            } else {
                Out::Table
            },
        ),
        AuditCommand::Export {
            dir,
            filters,
            format,
        } => export(&dir.unwrap_or_else(default_dir), &filters, format),
        AuditCommand::Reindex { dir } => {
            let dir = dir.unwrap_or_else(default_dir);
            let n = sluice_audit::reindex(&dir)
                .with_context(|| format!("reindexing {}", dir.display()))?;
            println!("reindexed {n} records in {}", dir.display());
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Keygen { out } => {
            let key = AuditSigningKey::generate();
            key.write_new(&out)
                .with_context(|| format!("writing {}", out.display()))?;
            println!("{}", key.public_hex());
            eprintln!(
                "wrote Ed25519 signing key to {} (keep it secret); public key above",
                out.display()
            );
            Ok(ExitCode::SUCCESS)
        }
    };
    match res {
        Ok(code) => Ok(code),
        Err(e) if crate::is_broken_pipe(&e) => Ok(ExitCode::SUCCESS),
        Err(e) => {
            eprintln!("error: {}", crate::one_line(&e));
            Ok(ExitCode::from(2))
        }
    }
}

fn verify(dir: &Path, pubkey: Option<&str>, json: bool) -> anyhow::Result<ExitCode> {
    let key = pubkey.map(parse_public_key).transpose()?;
    let r = sluice_audit::verify_dir(dir, key.as_ref())
        .with_context(|| format!("verifying {}", dir.display()))?;
    if json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        match &r.first_break {
            None => println!(
                "OK: {} records (seq {}..{}), {} segments, {} signed checkpoints, {} unsealed records, {} recoveries, {} retention events{}",
                r.records,
                r.first_seq,
                r.last_seq,
                r.segments,
                r.checkpoints,
                r.unsealed_records,
                r.recoveries.len(),
                r.retentions,
                if r.key_supplied {
                    ""
                } else {
                    " (signatures checked against the embedded key: pass --pubkey to trust)"
                }
            ),
            Some(b) => println!("BROKEN: {b}"),
        }
        for (seg, line, bytes) in &r.recoveries {
            println!("recovery: {bytes} torn bytes sealed, event at {seg} line {line}");
        }
        if let Some(t) = &r.torn_tail {
            println!(
                "torn tail: {} line {} ({} bytes), sealed on next open",
                t.segment, t.line, t.bytes
            );
        }
    }
    Ok(if r.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

enum Out {
    Table,
    Json,
    Csv,
}

fn query(dir: &Path, f: &Filters, page: Page, out: Out) -> anyhow::Result<ExitCode> {
    let q = f.to_query()?;
    let ix = AuditIndex::open_read_only(dir).with_context(|| {
        format!(
            "opening the index in {} (try `sluice audit reindex`)",
            dir.display()
        )
    })?;
    let res = ix.query(dir, &q, &page)?;
    let stdout = std::io::stdout();
    let mut w = std::io::BufWriter::new(stdout.lock());
    match out {
        Out::Json => {
            for r in &res.records {
                write_json_line(r, &mut w)?;
            }
        }
        Out::Csv => {
            writeln!(w, "{CSV_HEADER}")?;
            for r in &res.records {
                write_csv_row(r, &mut w)?;
            }
        }
        Out::Table => {
            writeln!(
                w,
                "{:<26}  {:<30}  {:<12}  {:<10}  {:>3}  {:<12}  FINDINGS",
                "ID", "TIME", "PRINCIPAL", "DECISION", "ST", "ENDPOINT"
            )?;
            for r in &res.records {
                table_row(r, &mut w)?;
            }
            writeln!(
                w,
                "{} of {} matching records (offset {})",
                res.records.len(),
                res.total,
                page.offset
            )?;
        }
    }
    w.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn table_row(r: &Record, w: &mut impl Write) -> std::io::Result<()> {
    let (principal, decision, status, endpoint, findings) = match &r.request {
        Some(q) => (
            q.principal.clone().unwrap_or_else(|| "-".into()),
            q.decision.label().to_string(),
            q.status.to_string(),
            q.endpoint.clone(),
            q.findings
                .iter()
                .map(|f| format!("{}:{}x{}", f.rule, f.entity, f.count))
                .collect::<Vec<_>>()
                .join(" "),
        ),
        None => (
            "-".into(),
            "event".into(),
            "-".into(),
            "-".into(),
            r.event
                .as_ref()
                .and_then(|e| serde_json::to_string(e).ok())
                .unwrap_or_default(),
        ),
    };
    writeln!(
        w,
        "{:<26}  {:<30}  {:<12}  {:<10}  {:>3}  {:<12}  {}",
        r.id.as_str(),
        r.ts.to_string(),
        principal,
        decision,
        status,
        endpoint,
        findings
    )
}

fn export(dir: &Path, f: &Filters, format: ExportFormat) -> anyhow::Result<ExitCode> {
    let q = f.to_query()?;
    let stdout = std::io::stdout();
    let mut w = std::io::BufWriter::new(stdout.lock());
    let emit = |r: &Record, w: &mut std::io::BufWriter<std::io::StdoutLock<'_>>| match format {
        ExportFormat::Jsonl => write_json_line(r, w),
        ExportFormat::Csv => write_csv_row(r, w),
    };
    if matches!(format, ExportFormat::Csv) {
        writeln!(w, "{CSV_HEADER}")?;
    }
    match AuditIndex::open_read_only(dir) {
        Ok(ix) => {
            let mut page = Page {
                limit: 5_000,
                ..Page::default()
            };
            loop {
                let p = ix.query(dir, &q, &page)?;
                for r in &p.records {
                    emit(r, &mut w)?;
                }
                match p.next_cursor {
                    Some(c) => page.cursor = Some(c),
                    None => break,
                }
            }
        }
        Err(_) => {
            // No index: the segments are the source of truth, scan them.
            for r in sluice_audit::scan(dir, &q)? {
                emit(&r, &mut w)?;
            }
        }
    }
    w.flush()?;
    Ok(ExitCode::SUCCESS)
}
