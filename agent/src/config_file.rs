//! Loading the UCI configuration file; errors name the file, line, section and option.

use std::fmt;

use apwatch_core::config::{self, Config, ConfigError};

/// The default configuration path (OpenWrt).
pub const DEFAULT_PATH: &str = "/etc/config/apwatch";

/// Why a configuration could not be used.
pub enum LoadError {
    Io(String, std::io::Error),
    Invalid(String, Box<ConfigError>),
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Io(path, e) => write!(f, "{path}: {e}"),
            LoadError::Invalid(path, e) => located(f, path, e),
        }
    }
}

/// `file:line: section, option: message`, as compilers print it.
fn located(f: &mut fmt::Formatter<'_>, path: &str, e: &ConfigError) -> fmt::Result {
    write!(f, "{path}:{}", e.to_string().trim_start_matches("line "))
}

/// A located error found after loading (e.g. by `Config::check_backend`).
pub fn invalid(path: &str, e: ConfigError) -> LoadError {
    LoadError::Invalid(path.to_owned(), Box::new(e))
}

/// Reads and checks `path`.
pub fn load(path: &str) -> Result<Config, LoadError> {
    let text = std::fs::read(path).map_err(|e| LoadError::Io(path.to_owned(), e))?;
    config::parse(&text).map_err(|e| invalid(path, e))
}
