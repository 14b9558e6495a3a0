//! apwatch as a library: the agent's modules, so the binary (`main.rs`), the integration
//! tests and the benchmarks (the ubus round trip) use the same code.

// Tests may unwrap: a panic there is a failing test.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]
// The library is the binary's inside, not a published API: no Default/is_empty for its own sake.
#![allow(clippy::new_without_default, clippy::len_without_is_empty)]

#[macro_use]
pub mod out;
#[macro_use]
pub mod log;
pub mod apply;
pub mod bridge;
pub mod config_file;
pub mod dhcp;
pub mod errno;
pub mod events;
pub mod files;
pub mod hostapd;
pub mod hostapd_ubus;
pub mod json;
pub mod kernel;
pub mod monitor;
pub mod netifd;
pub mod observe;
pub mod run;
pub mod signals;
pub mod socket;
pub mod spawn;
pub mod state;
pub mod status_led;
pub mod timing;
pub mod ubus;
pub mod view;
pub mod witness;

/// Exit codes, as documented in `--help`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    Ok = 0,
    Runtime = 1,
    Usage = 2,
    Config = 3,
}

/// The radio map: sysfs (name, driver, device path) and nl80211 (bands), one line per radio.
#[cfg(feature = "board")]
pub fn radios() -> Vec<String> {
    let Ok(mut map) = apwatch_board::RadioMap::read(std::path::Path::new("/sys")) else { return Vec::new() };
    let bands = kernel::Kernel::open().map_err(kernel::Error::Io).and_then(|mut k| {
        k.resolve_nl80211()?;
        k.dump_wiphy_bands()
    });
    for (index, mask) in bands.unwrap_or_default() {
        let set = (0u8..32).filter(|b| mask >> b & 1 != 0).map(apwatch_board::Band::from_nl80211).collect();
        map.set_bands(index, set);
    }
    map.iter().map(|r| r.to_string()).collect()
}

#[cfg(not(feature = "board"))]
pub fn radios() -> Vec<String> {
    Vec::new()
}
