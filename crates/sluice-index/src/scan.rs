//! Byte-level scan of a database directory: the check behind "canaries never reach the
//! LanceDB files".

use std::fs::File;
use std::io::Read;
use std::path::Path;

use crate::{IndexError, Result};

/// Whether `needle` occurs, byte for byte, in any file under `dir` (recursively): data
/// files, deletion files, manifests, index files, and files of unfinished transactions.
///
/// The table's string columns are stored without compression (see
/// [`crate::schema::chunk_schema`]), so a string written to them appears verbatim and a
/// `false` here is meaningful. Pair every "absent" assertion with a "present" control on
/// a string that was written, as this crate's own tests do.
///
/// Files are streamed in blocks (with an overlap of `needle.len() - 1` bytes), so large
/// tables do not need to fit in memory.
pub fn scan_files_for(dir: impl AsRef<Path>, needle: &[u8]) -> Result<bool> {
    if needle.is_empty() {
        return Ok(true);
    }
    let finder = memchr::memmem::Finder::new(needle);
    scan_dir(dir.as_ref(), &finder, needle.len())
}

fn scan_dir(dir: &Path, finder: &memchr::memmem::Finder<'_>, len: usize) -> Result<bool> {
    let io = |source| IndexError::Io {
        path: dir.display().to_string(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let path = entry.path();
        let kind = entry.file_type().map_err(io)?;
        let found = if kind.is_dir() {
            scan_dir(&path, finder, len)?
        } else if kind.is_file() {
            scan_file(&path, finder, len)?
        } else {
            false
        };
        if found {
            return Ok(true);
        }
    }
    Ok(false)
}

fn scan_file(path: &Path, finder: &memchr::memmem::Finder<'_>, len: usize) -> Result<bool> {
    const BLOCK: usize = 1 << 20;
    let io = |source| IndexError::Io {
        path: path.display().to_string(),
        source,
    };
    let mut file = File::open(path).map_err(io)?;
    let keep = len - 1;
    let mut buf = vec![0u8; keep + BLOCK];
    let mut filled = 0;
    loop {
        let n = file.read(&mut buf[filled..]).map_err(io)?;
        if n == 0 {
            return Ok(finder.find(&buf[..filled]).is_some());
        }
        filled += n;
        if filled == buf.len() {
            if finder.find(&buf[..filled]).is_some() {
                return Ok(true);
            }
            buf.copy_within(filled - keep.., 0);
            filled = keep;
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::scan_files_for;

    #[test]
    fn finds_needles_across_block_boundaries_and_in_subdirectories() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("a/b");
        std::fs::create_dir_all(&sub).unwrap();
        // The needle straddles the 1 MiB read block.
        let mut data = vec![b'.'; (1 << 20) - 3];
        data.extend_from_slice(b"canary-xyz");
        data.extend_from_slice(&[b'.'; 100]);
        std::fs::write(sub.join("f.bin"), &data).unwrap();
        assert!(scan_files_for(dir.path(), b"canary-xyz").unwrap());
        assert!(!scan_files_for(dir.path(), b"canary-abc").unwrap());
        assert!(scan_files_for(dir.path(), b"...").unwrap());
    }
}
