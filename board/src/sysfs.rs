//! Looking at sysfs: whether a file is there, and reading an attribute with plain read(2)s of
//! a page. Not std's `read_to_string`, whose size probing and growth are flash the router
//! binary need not carry for a few short values.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

/// Whether `path` names something (links followed): one access(2), not a stat.
pub(crate) fn exists(path: &Path) -> bool {
    rustix::fs::access(path, rustix::fs::Access::EXISTS).is_ok()
}

/// Whether `path` is a directory (links followed): an `O_PATH | O_DIRECTORY` open, which only a
/// directory passes. Not rustix's `stat`: on MIPS it goes through libc, looking `statx` up with
/// `dlsym`, whose error path links a whole `printf`.
pub(crate) fn is_dir(path: &Path) -> bool {
    use rustix::fs::{Mode, OFlags};
    rustix::fs::open(path, OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty()).is_ok()
}

/// The attribute's text as read (not trimmed); `InvalidData` when it is not UTF-8. Read to the
/// end: an LED's `trigger` list is a binary attribute that may be longer than a page.
pub(crate) fn read_text(path: &Path) -> io::Result<String> {
    let mut f = File::open(path)?;
    let mut buf = Vec::new();
    loop {
        let start = buf.len();
        buf.resize(start + 4096, 0);
        let n = f.read(buf.get_mut(start..).unwrap_or_default())?;
        buf.truncate(start + n);
        if n == 0 {
            break;
        }
    }
    String::from_utf8(buf).map_err(|_| io::ErrorKind::InvalidData.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::TempTree;

    #[test]
    fn reads_an_attribute_whole_and_checks_utf8() {
        let tree = TempTree::new("sysfs-read");
        tree.file("a", "phy0\n");
        let long = "timer ".repeat(1500); // 9 000 bytes: more than one read
        tree.file("long", &long);
        assert_eq!(read_text(&tree.path().join("long")).unwrap(), long);
        std::fs::write(tree.path().join("b"), b"\xff\xfe").unwrap();
        assert_eq!(read_text(&tree.path().join("a")).unwrap(), "phy0\n");
        assert_eq!(read_text(&tree.path().join("b")).unwrap_err().kind(), io::ErrorKind::InvalidData);
        assert_eq!(read_text(&tree.path().join("none")).unwrap_err().kind(), io::ErrorKind::NotFound);
        tree.dir("d");
        tree.symlink("l", "d");
        assert!(exists(&tree.path().join("a")) && exists(&tree.path().join("l")) && !exists(&tree.path().join("none")));
        assert!(is_dir(&tree.path().join("d")) && is_dir(&tree.path().join("l")));
        assert!(!is_dir(&tree.path().join("a")) && !is_dir(&tree.path().join("none")));
    }
}
