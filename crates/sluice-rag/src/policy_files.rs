//! Reading a policy folder: every `*.toml` under it, in a stable order, compiled as one set.

use std::io;
use std::path::Path;

use sluice_policy::{Policy, PolicyError, PolicySource};

/// Reads every `*.toml` under `dir` (recursively, sorted) and compiles the set. The outer
/// error is IO; the inner one is the policy's own validation (file:line:col diagnostics).
pub fn load_dir(dir: &Path) -> io::Result<Result<Policy, PolicyError>> {
    let sources = read_sources(dir)?;
    Ok(Policy::compile(&sources))
}

/// The policy sources under `dir`, with paths relative to it (`/`-separated).
pub fn read_sources(dir: &Path) -> io::Result<Vec<PolicySource>> {
    let mut out = Vec::new();
    collect(dir, dir, &mut out).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("reading policy folder {}: {e}", dir.display()),
        )
    })?;
    Ok(out)
}

// A recursive read_dir is a dozen lines; walkdir's extra options buy nothing here.
fn collect(root: &Path, dir: &Path, out: &mut Vec<PolicySource>) -> io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let ft = entry.file_type()?;
        if ft.is_dir() {
            collect(root, &path, out)?;
        } else if path.extension().is_some_and(|e| e == "toml") {
            let rel = path.strip_prefix(root).unwrap_or(&path);
            let rel = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            let text = std::fs::read_to_string(&path).map_err(|e| {
                io::Error::new(e.kind(), format!("reading {}: {e}", path.display()))
            })?;
            out.push(PolicySource { path: rel, text });
        }
    }
    Ok(())
}
