//! Reading a sysfs attribute: one read(2) of up to a page, which is how sysfs hands an
//! attribute over (whole, at most PAGE_SIZE). Not std's `read_to_string`, whose size probing
//! and growth are flash the router binary need not carry for a few short values.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

/// The attribute's text as read (not trimmed); `InvalidData` when it is not UTF-8.
pub(crate) fn read_text(path: &Path) -> io::Result<String> {
    let mut buf = vec![0; 4096];
    let n = File::open(path)?.read(&mut buf)?;
    buf.truncate(n);
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
        std::fs::write(tree.path().join("b"), b"\xff\xfe").unwrap();
        assert_eq!(read_text(&tree.path().join("a")).unwrap(), "phy0\n");
        assert_eq!(read_text(&tree.path().join("b")).unwrap_err().kind(), io::ErrorKind::InvalidData);
        assert_eq!(read_text(&tree.path().join("none")).unwrap_err().kind(), io::ErrorKind::NotFound);
    }
}
