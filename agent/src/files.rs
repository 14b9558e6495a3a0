//! Writing files the way a router must: to a temp file in the same directory, fsync, rename,
//! fsync the directory. A crash leaves the old file or the new one, never a torn one.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::Path;

/// Writes `data` to `path` atomically. Returns false when the file already held exactly `data`
/// (nothing written: idempotent). The file is read back into `scratch`, kept by the caller: a
/// write that changes nothing allocates nothing once `scratch` has grown to the file's size.
pub fn write_atomic(path: &Path, data: &[u8], scratch: &mut Vec<u8>) -> io::Result<bool> {
    scratch.clear();
    // one byte more than `data`: a longer file is not the same
    let same = File::open(path).and_then(|mut f| read_at_most(&mut f, scratch, data.len() + 1));
    if same.is_ok() && scratch.as_slice() == data {
        return Ok(false);
    }
    let (dir, name) = split(path).ok_or(io::ErrorKind::InvalidInput)?;
    // A fixed name: a temp file left by a crash is simply overwritten by the next write.
    let tmp = dir.join(temp_name(name));
    let result = (|| {
        let mut f = File::create(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        fs::rename(&tmp, path)?;
        File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map(|_| true)
}

/// Whether `path` names something (links followed), as `Path::exists` says, by one access(2)
/// instead of a stat (std's stat wrapper and the libc's `fstatat` are then not linked).
pub fn exists(path: &Path) -> bool {
    rustix::fs::access(path, rustix::fs::Access::EXISTS).is_ok()
}

/// Makes `dir` and whatever of its parents is missing (`mode`, less the umask), as `mkdir -p`: one mkdir(2)
/// per component, an existing one passed over. Not std's `create_dir_all`, which stats each.
pub fn create_dir_all(dir: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let bytes = dir.as_os_str().as_bytes();
    let ends = bytes.iter().enumerate().filter(|&(i, &b)| b == b'/' && i > 0).map(|(i, _)| i);
    for end in ends.chain(std::iter::once(bytes.len())) {
        let part = Path::new(std::ffi::OsStr::from_bytes(bytes.get(..end).unwrap_or_default()));
        match rustix::fs::mkdir(part, rustix::fs::Mode::from_raw_mode(mode)) {
            Ok(()) | Err(rustix::io::Errno::EXIST) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Reads all of `path` (the config, the state file).
pub fn read(path: &Path) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    read_at_most(&mut File::open(path)?, &mut out, usize::MAX)?;
    Ok(out)
}

/// Appends what `f` holds, up to `limit` bytes, to `out` with plain read(2)s of at most 4 KiB
/// (files here are small: std's `read_to_end`, with its size probing, is not linked for them).
/// Within `out`'s capacity nothing is allocated.
fn read_at_most(f: &mut File, out: &mut Vec<u8>, limit: usize) -> io::Result<()> {
    loop {
        let start = out.len();
        let want = limit.saturating_sub(start).min(4096);
        if want == 0 {
            return Ok(());
        }
        out.resize(start + want, 0);
        match f.read(out.get_mut(start..).unwrap_or_default()) {
            Ok(0) => {
                out.truncate(start);
                return Ok(());
            }
            Ok(n) => out.truncate(start + n),
            Err(e) => {
                out.truncate(start);
                if e.kind() != io::ErrorKind::Interrupted {
                    return Err(e);
                }
            }
        }
    }
}

/// A file's directory (`.` for a bare name) and name, split at its last `/` by bytes; `None`
/// when there is no name (`/`, a trailing `/`, `.`, `..`).
fn split(path: &Path) -> Option<(&Path, &std::ffi::OsStr)> {
    use std::os::unix::ffi::OsStrExt;
    let b = path.as_os_str().as_bytes();
    let (dir, name) = match b.iter().rposition(|&c| c == b'/') {
        Some(0) => (&b"/"[..], b.get(1..)?),
        Some(i) => (b.get(..i)?, b.get(i + 1..)?),
        None => (&b"."[..], b),
    };
    if name.is_empty() || name == b"." || name == b".." {
        return None;
    }
    Some((Path::new(std::ffi::OsStr::from_bytes(dir)), std::ffi::OsStr::from_bytes(name)))
}

/// `.<name>.tmp`, byte for byte.
fn temp_name(name: &std::ffi::OsStr) -> std::ffi::OsString {
    let mut tmp = std::ffi::OsString::from(".");
    tmp.push(name);
    tmp.push(".tmp");
    tmp
}

/// Removes the temp file a crash may have left beside `path` (at start-up only: a running
/// writer's temp file is never touched).
pub fn remove_stale_temp(path: &Path) {
    if let Some((dir, name)) = split(path) {
        let _ = fs::remove_file(dir.join(temp_name(name)));
    }
}

/// Removes `path`; false when it was not there.
pub fn remove(path: &Path) -> io::Result<bool> {
    match fs::remove_file(path) {
        Ok(()) => {
            if let Some((dir, _)) = split(path) {
                let _ = File::open(dir).and_then(|d| d.sync_all());
            }
            Ok(true)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_and_idempotent() {
        let dir = std::env::temp_dir().join(format!("apwatch-files-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let p = dir.join("a.conf");
        let mut scratch = Vec::new();
        assert!(write_atomic(&p, b"one\n", &mut scratch).unwrap());
        assert!(!write_atomic(&p, b"one\n", &mut scratch).unwrap());
        assert!(write_atomic(&p, b"two\n", &mut scratch).unwrap());
        assert_eq!(fs::read(&p).unwrap(), b"two\n");
        // a file that only starts with the data is not the same
        assert!(write_atomic(&p, b"two\nthree\n", &mut scratch).unwrap());
        assert!(!write_atomic(&p, b"two\nthree\n", &mut scratch).unwrap());
        assert!(write_atomic(&p, b"two\n", &mut scratch).unwrap());
        assert_eq!(fs::read(&p).unwrap(), b"two\n");
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1, "no temp file left behind");
        assert!(remove(&p).unwrap());
        assert!(!remove(&p).unwrap());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn splits_a_path_into_directory_and_name() {
        let s = |p: &str| {
            split(Path::new(p)).map(|(d, n)| (d.to_str().unwrap().to_owned(), n.to_str().unwrap().to_owned()))
        };
        let pair = |d: &str, n: &str| Some((d.to_owned(), n.to_owned()));
        assert_eq!(s("/var/run/apwatch.state"), pair("/var/run", "apwatch.state"));
        assert_eq!(s("/state"), pair("/", "state"));
        assert_eq!(s("state"), pair(".", "state"));
        assert_eq!(s("a/b"), pair("a", "b"));
        for none in ["/", "a/", ".", "..", "a/..", ""] {
            assert_eq!(s(none), None, "{none}");
        }
    }

    #[test]
    fn reads_and_makes_directories() {
        let dir = std::env::temp_dir().join(format!("apwatch-files-dirs-{}", std::process::id()));
        let deep = dir.join("a/b/c");
        create_dir_all(&deep, 0o755).unwrap();
        create_dir_all(&deep, 0o755).unwrap(); // already there: nothing to do
        assert!(exists(&deep) && deep.is_dir());
        let p = deep.join("f");
        let big: Vec<u8> = (0..10_000u32).map(|i| i as u8).collect();
        fs::write(&p, &big).unwrap();
        assert_eq!(read(&p).unwrap(), big, "more than one 4 KiB read");
        fs::write(dir.join("a/file"), b"x").unwrap();
        assert!(create_dir_all(&dir.join("a/file/d"), 0o755).is_err(), "a file where a directory goes");
        assert_eq!(read(&dir.join("none")).unwrap_err().kind(), io::ErrorKind::NotFound);
        assert!(!exists(&dir.join("none")));
        fs::remove_dir_all(&dir).unwrap();
    }
}
