//! How core logs, decided here and nowhere else (as embassy-sync's `fmt.rs` does):
//! with the `defmt` feature the macros go to defmt, otherwise they compile to nothing.
#![allow(unused_macros)]

macro_rules! debug {
    ($($arg:tt)*) => {{
        #[cfg(feature = "defmt")]
        ::defmt::debug!($($arg)*);
    }};
}

macro_rules! warn {
    ($($arg:tt)*) => {{
        #[cfg(feature = "defmt")]
        ::defmt::warn!($($arg)*);
    }};
}
