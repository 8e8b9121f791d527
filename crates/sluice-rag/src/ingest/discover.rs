//! Finding the files to ingest: folders walked recursively, hidden entries and unknown types
//! skipped, symlinks followed only while they stay inside the folder given.

use std::path::{Path, PathBuf};

use sluice_ingest::Format;

use super::SourceFile;
use crate::error::IngestError;

/// Walks the inputs. Folders are walked recursively (hidden entries skipped, symlinks
/// followed only when they stay inside the folder); files of types Sluice does not read are
/// skipped in folders but a failure when named directly. Returns the files and the failures
/// found while walking, plus the count of skipped files.
pub fn discover(inputs: &[PathBuf]) -> (Vec<SourceFile>, Vec<(String, IngestError)>, usize) {
    let mut files = Vec::new();
    let mut failures = Vec::new();
    let mut skipped = 0;
    for input in inputs {
        let meta = match std::fs::metadata(input) {
            Ok(m) => m,
            Err(e) => {
                failures.push((input.display().to_string(), IngestError::Unreadable(e)));
                continue;
            }
        };
        if meta.is_file() {
            let name = input
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| input.display().to_string());
            files.push(SourceFile {
                path: input.clone(),
                source_path: name,
                size: meta.len(),
            });
            continue;
        }
        let root = match std::fs::canonicalize(input) {
            Ok(r) => r,
            Err(e) => {
                failures.push((input.display().to_string(), IngestError::Unreadable(e)));
                continue;
            }
        };
        let walker = walkdir::WalkDir::new(input)
            .follow_links(false)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'));
        for entry in walker {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    let p = e
                        .path()
                        .map(|p| rel(input, p))
                        .unwrap_or_else(|| input.display().to_string());
                    let io = e
                        .into_io_error()
                        .unwrap_or_else(|| std::io::Error::other("walk error"));
                    failures.push((p, IngestError::Unreadable(io)));
                    continue;
                }
            };
            let path = entry.path();
            let source_path = rel(input, path);
            let ft = entry.file_type();
            let (is_file, size) = if ft.is_symlink() {
                match std::fs::canonicalize(path) {
                    Ok(target) if !target.starts_with(&root) => {
                        failures.push((
                            source_path,
                            IngestError::SymlinkOutsideRoot {
                                root: input.clone(),
                            },
                        ));
                        continue;
                    }
                    Ok(target) => match std::fs::metadata(&target) {
                        // A link to a folder inside the root: its files are walked there.
                        Ok(m) if m.is_dir() => continue,
                        Ok(m) => (m.is_file(), m.len()),
                        Err(e) => {
                            failures.push((source_path, IngestError::Unreadable(e)));
                            continue;
                        }
                    },
                    Err(e) => {
                        failures.push((source_path, IngestError::Unreadable(e)));
                        continue;
                    }
                }
            } else if ft.is_dir() {
                continue;
            } else {
                (ft.is_file(), entry.metadata().map(|m| m.len()).unwrap_or(0))
            };
            let supported = path
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| Format::from_extension(e).is_ok());
            if !supported {
                skipped += 1;
                continue;
            }
            if !is_file {
                failures.push((source_path, IngestError::NotAFile));
                continue;
            }
            files.push(SourceFile {
                path: path.to_path_buf(),
                source_path,
                size,
            });
        }
    }
    (files, failures, skipped)
}

fn rel(root: &Path, path: &Path) -> String {
    let r = path.strip_prefix(root).unwrap_or(path);
    r.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}
