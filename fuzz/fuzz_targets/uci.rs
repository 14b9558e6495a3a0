//! The UCI lexer and the configuration schema over arbitrary text: an error or a config, and
//! an error always renders.
#![no_main]

use std::fmt::Write;

use apwatch_core::config;
use apwatch_core::uci::Statements;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = Statements::new(data).count();
    match config::parse(data) {
        Ok(c) => {
            assert!(c.rules.len() <= config::MAX_RULES);
            let _ = c.check_backend(config::Backend::Rtnl);
        }
        Err(e) => {
            let mut s = String::new();
            write!(s, "{e}").unwrap();
            assert!(s.starts_with("line "));
        }
    }
});
