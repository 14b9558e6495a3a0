//! A word looked up in a table of keywords: one loop for every table, instead of a chain of
//! byte-string comparisons for each `match` on words (the config parser, hostapd's events and
//! states). Tables are small (at most a dozen words), so a linear search is the fast one too.

/// The value `word` names in `table` (the first entry that matches), or `None`.
pub fn lookup<T: Copy>(table: &[(&[u8], T)], word: &[u8]) -> Option<T> {
    table.iter().find(|(k, _)| *k == word).map(|&(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_first_exact_match_only() {
        const T: [(&[u8], u8); 4] = [(b"on", 1), (b"one", 2), (b"", 3), (b"on", 4)];
        assert_eq!(lookup(&T, b"on"), Some(1));
        assert_eq!(lookup(&T, b"one"), Some(2));
        assert_eq!(lookup(&T, b""), Some(3));
        assert_eq!(lookup(&T, b"o"), None);
        assert_eq!(lookup(&T, b"ON"), None);
        assert_eq!(lookup::<u8>(&[], b"on"), None);
    }
}
