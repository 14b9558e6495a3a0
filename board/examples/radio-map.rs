//! Prints the radio map, one line per phy, as the agent would log it at start.
//!
//! ```text
//! radio-map [--sysfs DIR]
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use apwatch_board::RadioMap;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let sysfs = match (args.next().as_deref(), args.next()) {
        (None, _) => PathBuf::from("/sys"),
        (Some("--sysfs"), Some(dir)) => PathBuf::from(dir),
        _ => {
            eprintln!("usage: radio-map [--sysfs DIR]");
            return ExitCode::from(3);
        }
    };
    match RadioMap::read(&sysfs) {
        Ok(map) => {
            for radio in &map {
                println!("{radio}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("radio-map: {e}");
            ExitCode::from(2)
        }
    }
}
