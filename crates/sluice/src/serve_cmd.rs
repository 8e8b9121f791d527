//! `sluice serve` (the HTTP gateway) and `sluice keys new` (API keys for its config).

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand, ValueEnum};
use sluice_server::{Role, ServerConfig};

/// `sluice serve`.
#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Config file (see deploy/sluice.example.toml). Default: <data-dir>/sluice.toml.
    #[arg(long, env = "SLUICE_CONFIG")]
    config: Option<PathBuf>,
    /// If the config file does not exist, write a demo config there first (data in
    /// --data-dir, policies from ./policies, models from --models) and print its API keys once.
    #[arg(long)]
    init_demo: bool,
    /// Listen address, overriding the config's `listen` (port 0 picks a free port).
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Collection used in the printed curl example.
    #[arg(long, default_value = "demo")]
    example_collection: String,
}

/// `sluice keys`.
#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// Print a fresh API key (once) and the `[[principal]]` block to paste into sluice.toml.
    New(NewKeyArgs),
    /// Print the SHA-256 to store for an existing key read from stdin (one line).
    Hash,
}

/// `sluice keys new`.
#[derive(Args, Debug)]
pub struct NewKeyArgs {
    /// Principal id (the name audit records show).
    #[arg(long)]
    principal: String,
    /// Roles (repeat or comma-separate). Roles do not imply each other.
    #[arg(long = "role", value_delimiter = ',', default_value = "reader")]
    roles: Vec<RoleArg>,
    /// Collections the principal may read or write (`*` = all). None unless given, as in
    /// the config: access is granted by naming it, never by forgetting a flag.
    #[arg(long, value_delimiter = ',')]
    collections: Vec<String>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum RoleArg {
    Reader,
    Ingester,
    Auditor,
    Admin,
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Role {
        match r {
            RoleArg::Reader => Role::Reader,
            RoleArg::Ingester => Role::Ingester,
            RoleArg::Auditor => Role::Auditor,
            RoleArg::Admin => Role::Admin,
        }
    }
}

/// Runs the gateway until SIGINT/SIGTERM.
pub fn serve(args: ServeArgs, data_dir: &Path) -> Result<ExitCode> {
    let path = args
        .config
        .clone()
        .unwrap_or_else(|| data_dir.join("sluice.toml"));
    let mut demo_keys = Vec::new();
    if args.init_demo && !path.exists() {
        demo_keys = sluice_server::write_demo_config(&path, data_dir)
            .with_context(|| format!("writing a demo config to {}", path.display()))?;
        let mut err = std::io::stderr().lock();
        writeln!(
            err,
            "Wrote a demo config to {} with these API keys. They are shown only now (the file \
             keeps their SHA-256); delete the file to get new ones.",
            path.display()
        )?;
        for (principal, key) in &demo_keys {
            writeln!(err, "  {principal:<9} {key}")?;
        }
    }
    let mut cfg = ServerConfig::load(&path)?;
    if let Some(listen) = args.listen {
        cfg.listen = listen;
    }
    let reader_key = demo_keys
        .iter()
        .find(|(p, _)| p == "reader")
        .map(|(_, k)| k.clone());
    let collection = args.example_collection;
    let runtime = crate::stack::runtime()?;
    let served = runtime.block_on(sluice_server::serve(cfg, move |addr| {
        print_ready(addr, reader_key.as_deref(), &collection);
    }));
    // Blocking jobs abandoned by their requests (an embedding batch, an extraction past its
    // budget) must not keep the process alive after the server has stopped.
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    served?;
    Ok(ExitCode::SUCCESS)
}

/// The banner goes to stderr: stdout carries the JSON logs.
fn print_ready(addr: SocketAddr, key: Option<&str>, collection: &str) {
    let key_arg = key.map_or_else(|| "$SLUICE_KEY".to_owned(), str::to_owned);
    let body = serde_json::json!({
        "question": "What are the steps to fail over the primary database?",
        "collections": [collection],
    });
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "Sluice ready on http://{addr}");
    if key.is_none() {
        let _ = writeln!(
            err,
            "  (set SLUICE_KEY to a reader key: `sluice keys new --principal you` prints one)"
        );
    }
    let _ = writeln!(
        err,
        "  try: curl -s http://{addr}/v1/ask -H 'Authorization: Bearer {key_arg}' \
         -H 'Content-Type: application/json' -d '{body}'"
    );
    let _ = err.flush();
}

/// `sluice keys …`.
pub fn keys(cmd: KeysCommand) -> Result<ExitCode> {
    match cmd {
        KeysCommand::New(args) => {
            if args.principal.trim().is_empty() {
                bail!("--principal must not be empty");
            }
            let roles: Vec<Role> = args.roles.into_iter().map(Role::from).collect();
            let collections: Vec<String> = args
                .collections
                .into_iter()
                .map(|c| c.trim().to_owned())
                .filter(|c| !c.is_empty())
                .collect();
            let (key, hash) = sluice_server::new_api_key();
            let mut out = std::io::stdout().lock();
            writeln!(
                out,
                "# API key for {:?}, shown only now; give it to the client (Authorization: Bearer …):",
                args.principal
            )?;
            writeln!(out, "{key}")?;
            writeln!(out, "\n# Paste into sluice.toml (only the hash is stored):")?;
            write!(
                out,
                "{}",
                sluice_server::principal_toml(&args.principal, &hash, &roles, &collections)
            )?;
        }
        KeysCommand::Hash => {
            let mut line = String::new();
            std::io::stdin()
                .read_line(&mut line)
                .context("reading the key from stdin")?;
            let key = line.trim();
            if !sluice_server::keys::looks_like_api_key(key) {
                bail!("stdin is not a Sluice key (sluice_ followed by 32 base62 characters)");
            }
            println!("{}", sluice_server::hash_api_key(key));
        }
    }
    Ok(ExitCode::SUCCESS)
}
