//! The frequency bands a radio supports, numbered as nl80211 numbers them (`enum nl80211_band`).
//! sysfs does not list bands; the agent fills them from `NL80211_CMD_GET_WIPHY`.

use core::fmt;

/// One band. Numbers the kernel adds later survive as `Unknown`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Band {
    /// 2.4 GHz (`NL80211_BAND_2GHZ`, 0).
    Ghz2,
    /// 5 GHz (`NL80211_BAND_5GHZ`, 1).
    Ghz5,
    /// 60 GHz (`NL80211_BAND_60GHZ`, 2).
    Ghz60,
    /// 6 GHz (`NL80211_BAND_6GHZ`, 3).
    Ghz6,
    /// Sub-1 GHz (`NL80211_BAND_S1GHZ`, 4).
    S1g,
    /// Light communication (`NL80211_BAND_LC`, 5).
    Lc,
    /// A band this crate does not know yet.
    Unknown(u8),
}

impl Band {
    /// From the number in `NL80211_ATTR_WIPHY_BANDS`' nested attribute types.
    pub fn from_nl80211(n: u8) -> Band {
        match n {
            0 => Band::Ghz2,
            1 => Band::Ghz5,
            2 => Band::Ghz60,
            3 => Band::Ghz6,
            4 => Band::S1g,
            5 => Band::Lc,
            n => Band::Unknown(n),
        }
    }

    /// The nl80211 number.
    pub fn to_nl80211(self) -> u8 {
        match self {
            Band::Ghz2 => 0,
            Band::Ghz5 => 1,
            Band::Ghz60 => 2,
            Band::Ghz6 => 3,
            Band::S1g => 4,
            Band::Lc => 5,
            Band::Unknown(n) => n,
        }
    }
}

impl fmt::Display for Band {
    /// OpenWrt's words where it has them (`option band` in /etc/config/wireless).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Band::Ghz2 => f.write_str("2g"),
            Band::Ghz5 => f.write_str("5g"),
            Band::Ghz60 => f.write_str("60g"),
            Band::Ghz6 => f.write_str("6g"),
            Band::S1g => f.write_str("s1g"),
            Band::Lc => f.write_str("lc"),
            Band::Unknown(n) => write!(f, "band{n}"),
        }
    }
}

/// A set of bands: bit n is nl80211 band n.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Bands(u32);

impl Bands {
    /// No band.
    pub const EMPTY: Bands = Bands(0);

    /// Adds `band`. Returns false, and adds nothing, for a band number above 31: nl80211 has
    /// six, so that would be a decoding error upstream, not a radio.
    pub fn insert(&mut self, band: Band) -> bool {
        match 1u32.checked_shl(u32::from(band.to_nl80211())) {
            Some(bit) => {
                self.0 |= bit;
                true
            }
            None => false,
        }
    }

    /// Whether `band` is in the set.
    pub fn contains(&self, band: Band) -> bool {
        1u32.checked_shl(u32::from(band.to_nl80211())).is_some_and(|bit| self.0 & bit != 0)
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0 == 0
    }

    /// The bands, lowest nl80211 number first.
    pub fn iter(&self) -> impl Iterator<Item = Band> + '_ {
        (0..32u8).filter(|n| self.0 & (1 << n) != 0).map(Band::from_nl80211)
    }
}

impl FromIterator<Band> for Bands {
    fn from_iter<I: IntoIterator<Item = Band>>(iter: I) -> Self {
        let mut bands = Bands::EMPTY;
        for band in iter {
            bands.insert(band);
        }
        bands
    }
}

impl fmt::Display for Bands {
    /// `2g,5g`; `-` for none.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("-");
        }
        for (i, band) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{band}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Bands {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Bands({self})")
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn nl80211_numbers_round_trip() {
        for n in 0..=255u8 {
            assert_eq!(Band::from_nl80211(n).to_nl80211(), n);
        }
        assert_eq!(Band::from_nl80211(3), Band::Ghz6);
        assert_eq!(Band::from_nl80211(9), Band::Unknown(9));
    }

    #[test]
    fn set_operations() {
        let mut bands = Bands::EMPTY;
        assert!(bands.is_empty());
        assert!(bands.insert(Band::Ghz5));
        assert!(bands.insert(Band::Ghz2));
        assert!(bands.insert(Band::Unknown(7)));
        assert!(bands.contains(Band::Ghz2));
        assert!(!bands.contains(Band::Ghz6));
        assert_eq!(bands.to_string(), "2g,5g,band7");
        assert_eq!(bands.iter().collect::<Vec<_>>(), [Band::Ghz2, Band::Ghz5, Band::Unknown(7)]);
    }

    #[test]
    fn out_of_range_band_is_refused() {
        let mut bands = Bands::EMPTY;
        assert!(!bands.insert(Band::Unknown(32)));
        assert!(!bands.contains(Band::Unknown(32)));
        assert!(bands.is_empty());
        assert!(bands.insert(Band::Unknown(31)));
    }

    #[test]
    fn display() {
        assert_eq!(Bands::EMPTY.to_string(), "-");
        let bands: Bands = [Band::Ghz6, Band::Ghz2].into_iter().collect();
        assert_eq!(bands.to_string(), "2g,6g");
        assert_eq!(format!("{bands:?}"), "Bands(2g,6g)");
    }
}
