//! Loading the UCI configuration file; errors name the file, line, section and option.

use crate::errno::Why;
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
            LoadError::Io(path, e) => write!(f, "{path}: {}", Why(e)),
            LoadError::Invalid(path, e) => write!(f, "{}", e.in_file(path)),
        }
    }
}

/// Reads and checks `path`.
pub fn load(path: &str) -> Result<Config, LoadError> {
    let text = crate::files::read(std::path::Path::new(path)).map_err(|e| LoadError::Io(path.to_owned(), e))?;
    config::parse(&text).map_err(|e| LoadError::Invalid(path.to_owned(), Box::new(e)))
}
