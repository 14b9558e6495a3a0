//! The radios (phys) and the hardware behind each, as `/sys/class/ieee80211/phyN` shows them.
//! Owns only what sysfs knows; bands are not there, the agent adds them from nl80211.

use std::fmt;
use std::fs;
use std::io;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use crate::band::Bands;
use crate::error::{Error, Subject};

/// One radio.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Radio {
    /// `phy0`: the name, which `iw phy … set name` can change.
    pub phy: String,
    /// The wiphy index (`index`): nl80211's `NL80211_ATTR_WIPHY`, stable while the radio exists.
    pub index: u32,
    /// `macaddress`: the radio's permanent address.
    pub macaddress: Option<[u8; 6]>,
    /// The device behind it, relative to `/sys/devices`: `platform/soc/18100000.wmac` (SoC
    /// radio), `pci0000:00/0000:00:00.0/0000:01:00.0` (PCIe card),
    /// `virtual/mac80211_hwsim/hwsim0` (mac80211_hwsim). Survives renames and reboots, so it
    /// names a radio the way OpenWrt's `option path` does.
    pub device: Option<String>,
    /// The driver bound to that device: `ath9k`, `mt7915e`, `mac80211_hwsim`.
    pub driver: Option<String>,
    /// Supported bands; `None` until the agent fills them from `NL80211_CMD_GET_WIPHY`.
    pub bands: Option<Bands>,
}

impl Radio {
    /// Reads `<sysfs>/class/ieee80211/<phy>`. `Ok(None)` if that phy does not exist (any more:
    /// a USB radio can go between listing and reading).
    pub fn read(sysfs: &Path, phy: &str) -> Result<Option<Radio>, Box<Error>> {
        let dir = sysfs.join("class/ieee80211").join(phy);
        let Some(index) = attr(&dir, "index", phy, |t| apwatch_core::text::number(t.as_bytes()))? else {
            return Ok(None);
        };
        let macaddress = attr(&dir, "macaddress", phy, |t| apwatch_core::mac::parse(t.as_bytes()))?;
        let io_error = |name: &str, source| {
            Box::new(Error::Io { subject: Subject::Phy(phy.to_owned()), path: dir.join(name), source })
        };
        let device = match device_path(sysfs, phy) {
            Ok(path) => Some(device_name(sysfs, &path)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(source) => return Err(io_error("device", source)),
        };
        // `driver` is a symlink into /sys/bus/*/drivers/<name>: the last part is the name.
        let driver = match fs::read_link(dir.join("device/driver")) {
            Ok(target) => Some(last_part(&target)).filter(|n| !n.is_empty() && *n != b"." && *n != b"..").map(text),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(source) => return Err(io_error("device/driver", source)),
        };
        Ok(Some(Radio { phy: phy.to_owned(), index, macaddress, device, driver, bands: None }))
    }
}

impl fmt::Display for Radio {
    /// One log line: `phy0 index=0 mac=00:11:22:33:44:55 driver=ath9k
    /// device=platform/soc/18100000.wmac bands=2g`, `-` for what is unknown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} index={} mac=", self.phy, self.index)?;
        match self.macaddress {
            Some(m) => write!(f, "{}", apwatch_core::mac::Mac(m))?,
            None => f.write_str("-")?,
        }
        let (driver, device) = (self.driver.as_deref().unwrap_or("-"), self.device.as_deref().unwrap_or("-"));
        write!(f, " driver={driver} device={device} bands=")?;
        match self.bands {
            Some(bands) => write!(f, "{bands}"),
            None => f.write_str("?"),
        }
    }
}

/// All radios, ordered by wiphy index.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RadioMap {
    radios: Vec<Radio>,
}

impl RadioMap {
    /// Reads every phy under `<sysfs>/class/ieee80211`; `sysfs` is `/sys` except in tests.
    /// No such directory (cfg80211 not loaded) is an empty map, not an error.
    pub fn read(sysfs: &Path) -> Result<RadioMap, Box<Error>> {
        let dir = sysfs.join("class/ieee80211");
        let io_error = |source| Error::Io { subject: Subject::Radios, path: dir.clone(), source };
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(RadioMap::default()),
            Err(e) => return Err(Box::new(io_error(e))),
        };
        let mut map = RadioMap::default();
        for entry in entries {
            let entry = entry.map_err(io_error)?;
            let phy = text(entry.file_name().as_bytes());
            if let Some(radio) = Radio::read(sysfs, &phy)? {
                map.insert(radio);
            }
        }
        Ok(map)
    }

    /// The radio with wiphy index `index`.
    pub fn get(&self, index: u32) -> Option<&Radio> {
        self.find(index).ok().map(|i| &self.radios[i])
    }

    /// The radio named `phy`.
    pub fn by_phy(&self, phy: &str) -> Option<&Radio> {
        self.radios.iter().find(|r| r.phy == phy)
    }

    /// Records the bands nl80211 reported for wiphy `index`; false if there is no such radio.
    pub fn set_bands(&mut self, index: u32, bands: Bands) -> bool {
        match self.find(index) {
            Ok(i) => {
                self.radios[i].bands = Some(bands);
                true
            }
            Err(_) => false,
        }
    }

    /// Adds a radio (after nl80211 `NEW_WIPHY`: [`Radio::read`] it), replacing one with the same
    /// index, whose bands it keeps if it brings none. Returns the one replaced.
    pub fn insert(&mut self, mut radio: Radio) -> Option<Radio> {
        match self.find(radio.index) {
            Ok(i) => {
                if radio.bands.is_none() {
                    radio.bands = self.radios[i].bands;
                }
                Some(core::mem::replace(&mut self.radios[i], radio))
            }
            Err(i) => {
                self.radios.insert(i, radio);
                None
            }
        }
    }

    /// Forgets wiphy `index` (after nl80211 `DEL_WIPHY`).
    pub fn remove(&mut self, index: u32) -> Option<Radio> {
        self.find(index).ok().map(|i| self.radios.remove(i))
    }

    /// The radios, lowest index first.
    pub fn iter(&self) -> core::slice::Iter<'_, Radio> {
        self.radios.iter()
    }

    /// How many radios.
    pub fn len(&self) -> usize {
        self.radios.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.radios.is_empty()
    }

    fn find(&self, index: u32) -> Result<usize, usize> {
        self.radios.binary_search_by_key(&index, |r| r.index)
    }
}

impl<'a> IntoIterator for &'a RadioMap {
    type Item = &'a Radio;
    type IntoIter = core::slice::Iter<'a, Radio>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// A name from sysfs as text: itself when it is UTF-8 (as kernel names are), else escaped as
/// SSIDs are in logs (not std's lossy decoding).
fn text(name: &[u8]) -> String {
    match std::str::from_utf8(name) {
        Ok(s) => s.to_owned(),
        Err(_) => apwatch_core::escape::IwEscaped(name).to_string(),
    }
}

/// The attribute `name` of the phy directory `dir`, trimmed and read by `parse`; `None` if it
/// does not exist, an error naming the file if it cannot be read or `parse` refuses it.
fn attr<T>(dir: &Path, name: &str, phy: &str, parse: impl Fn(&str) -> Option<T>) -> Result<Option<T>, Box<Error>> {
    let path = dir.join(name);
    let subject = || Subject::Phy(phy.to_owned());
    let text = match crate::sysfs::read_text(&path) {
        Ok(text) => text.trim_ascii().to_owned(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(Box::new(Error::Io { subject: subject(), path, source })),
    };
    match parse(&text) {
        Some(v) => Ok(Some(v)),
        None => Err(Box::new(Error::BadValue { subject: subject(), path, value: text })),
    }
}

/// Where `<sysfs>/class/ieee80211/<phy>/device` leads, under `sysfs` as given: the class entry
/// and `device` are followed (sysfs makes both relative links between real directories, so
/// `..` is taken lexically), nothing else is. `fs::canonicalize` would do it through libc's
/// `realpath`, whose result is malloc'd. A missing `device` is `NotFound`.
fn device_path(sysfs: &Path, phy: &str) -> io::Result<PathBuf> {
    let class = sysfs.join("class/ieee80211");
    let follow = |dir: &Path, name: &str| -> io::Result<PathBuf> {
        let link = dir.join(name);
        match fs::read_link(&link) {
            Ok(target) => Ok(lexical(dir, &target)),
            // not a link (a test tree's plain directory)
            Err(e) if e.kind() == io::ErrorKind::InvalidInput => Ok(link),
            Err(e) => Err(e),
        }
    };
    let real = follow(&class, phy)?;
    let device = follow(&real, "device")?;
    if !crate::sysfs::exists(&device) {
        return Err(io::ErrorKind::NotFound.into());
    }
    Ok(device)
}

/// `target` read from a link in `dir`, with `.` and `..` folded, by bytes (std's path
/// components are not needed for this).
fn lexical(dir: &Path, target: &Path) -> PathBuf {
    let t = target.as_os_str().as_bytes();
    let joined = if t.first() == Some(&b'/') { t.to_vec() } else { [dir.as_os_str().as_bytes(), b"/", t].concat() };
    let absolute = joined.first() == Some(&b'/');
    let mut parts: Vec<&[u8]> = Vec::new();
    for c in joined.split(|&b| b == b'/') {
        match c {
            b"" | b"." => {}
            b".." => match parts.last() {
                Some(&p) if p != b".." => {
                    parts.pop();
                }
                _ if absolute => {} // at the root
                _ => parts.push(b".."),
            },
            c => parts.push(c),
        }
    }
    let mut out = if absolute { b"/".to_vec() } else { Vec::new() };
    out.extend(parts.join(&b'/'));
    PathBuf::from(std::ffi::OsString::from_vec(out))
}

/// The part of `path` after its last `/` (all of it without one).
fn last_part(path: &Path) -> &[u8] {
    let b = path.as_os_str().as_bytes();
    b.rsplit(|&c| c == b'/').next().unwrap_or(b)
}

/// `resolved` relative to `<sysfs>/devices`; the whole path if it lies elsewhere, which sysfs
/// never does but a test tree might.
fn device_name(sysfs: &Path, resolved: &Path) -> String {
    let devices = lexical(sysfs, Path::new("devices"));
    let r = resolved.as_os_str().as_bytes();
    let rest = r.strip_prefix(devices.as_os_str().as_bytes()).and_then(|rest| match rest {
        [] => Some(rest),
        [b'/', tail @ ..] => Some(tail),
        _ => None,
    });
    text(rest.unwrap_or(r))
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::band::Band;
    use crate::testutil::TempTree;

    /// A phy under `device_dir` (relative to `devices/`), linked as the kernel links it:
    /// the class entry points at the phy's real directory, whose `device` points up to the
    /// device, whose `driver` points into `bus/<bus>/drivers/`.
    fn add_phy(tree: &TempTree, phy: &str, index: u32, mac: &str, device_dir: &str) {
        let real = format!("devices/{device_dir}/ieee80211/{phy}");
        tree.file(&format!("{real}/index"), &format!("{index}\n"));
        tree.file(&format!("{real}/name"), &format!("{phy}\n"));
        tree.file(&format!("{real}/macaddress"), &format!("{mac}\n"));
        let device = device_dir.rsplit('/').next().unwrap();
        tree.symlink(&format!("{real}/device"), &format!("../../../{device}"));
        tree.symlink(&format!("class/ieee80211/{phy}"), &format!("../../{real}"));
    }

    fn add_driver(tree: &TempTree, device_dir: &str, bus: &str, driver: &str) {
        tree.dir(&format!("bus/{bus}/drivers/{driver}"));
        let up = "../".repeat(device_dir.split('/').count() + 1);
        tree.symlink(&format!("devices/{device_dir}/driver"), &format!("{up}bus/{bus}/drivers/{driver}"));
    }

    /// A dual-radio OpenWrt router (SoC 2.4 GHz + PCIe 5 GHz) and an hwsim radio, numbered
    /// out of directory order.
    fn router() -> TempTree {
        let tree = TempTree::new("radio");
        let soc = "platform/soc/18100000.wmac";
        let pci = "pci0000:00/0000:00:00.0/0000:01:00.0";
        let hwsim = "virtual/mac80211_hwsim/hwsim0";
        add_phy(&tree, "phy0", 0, "00:11:22:33:44:55", soc);
        add_driver(&tree, soc, "platform", "ath9k");
        add_phy(&tree, "phy1", 1, "00:11:22:33:44:AA", pci);
        add_driver(&tree, pci, "pci", "ath10k_pci");
        add_phy(&tree, "phy7", 2, "02:00:00:00:00:00", hwsim);
        add_driver(&tree, hwsim, "platform", "mac80211_hwsim");
        tree
    }

    #[test]
    fn reads_a_router() {
        let tree = router();
        let map = RadioMap::read(tree.path()).unwrap();
        assert_eq!(map.len(), 3);
        let phys: Vec<_> = map.iter().map(|r| (r.index, r.phy.as_str())).collect();
        assert_eq!(phys, [(0, "phy0"), (1, "phy1"), (2, "phy7")]);

        let soc = map.get(0).unwrap();
        assert_eq!(soc.macaddress, Some([0x00, 0x11, 0x22, 0x33, 0x44, 0x55]));
        assert_eq!(soc.device.as_deref(), Some("platform/soc/18100000.wmac"));
        assert_eq!(soc.driver.as_deref(), Some("ath9k"));
        assert_eq!(soc.bands, None);

        let pci = map.by_phy("phy1").unwrap();
        assert_eq!(pci.device.as_deref(), Some("pci0000:00/0000:00:00.0/0000:01:00.0"));
        assert_eq!(pci.driver.as_deref(), Some("ath10k_pci"));
        assert_eq!(pci.macaddress.unwrap()[5], 0xaa);

        let hwsim = map.get(2).unwrap();
        assert_eq!(hwsim.phy, "phy7");
        assert_eq!(hwsim.device.as_deref(), Some("virtual/mac80211_hwsim/hwsim0"));
        assert_eq!(hwsim.driver.as_deref(), Some("mac80211_hwsim"));
        assert_eq!(
            hwsim.to_string(),
            "phy7 index=2 mac=02:00:00:00:00:00 driver=mac80211_hwsim \
             device=virtual/mac80211_hwsim/hwsim0 bands=?"
        );
    }

    #[test]
    fn bands_come_from_outside() {
        let tree = router();
        let mut map = RadioMap::read(tree.path()).unwrap();
        assert!(map.set_bands(1, [Band::Ghz5].into_iter().collect()));
        assert!(!map.set_bands(9, Bands::EMPTY));
        assert!(map.get(1).unwrap().bands.unwrap().contains(Band::Ghz5));
        assert!(map.get(1).unwrap().to_string().ends_with("bands=5g"));

        // A re-read after a rename keeps the bands already known.
        let again = Radio::read(tree.path(), "phy1").unwrap().unwrap();
        assert_eq!(again.bands, None);
        let old = map.insert(again).unwrap();
        assert_eq!(old.phy, "phy1");
        assert_eq!(map.get(1).unwrap().bands, old.bands);
    }

    #[test]
    fn insert_and_remove_keep_the_order() {
        let tree = router();
        let mut map = RadioMap::read(tree.path()).unwrap();
        let hwsim = map.remove(2).unwrap();
        assert_eq!(map.len(), 2);
        assert!(map.remove(2).is_none());
        let soc = map.remove(0).unwrap();
        assert!(map.insert(hwsim).is_none());
        assert!(map.insert(soc).is_none());
        let order: Vec<u32> = (&map).into_iter().map(|r| r.index).collect();
        assert_eq!(order, [0, 1, 2]);
    }

    #[test]
    fn no_cfg80211_is_no_radios() {
        let tree = TempTree::new("radio");
        assert!(RadioMap::read(tree.path()).unwrap().is_empty());
    }

    #[test]
    fn links_are_folded_lexically() {
        let d = |sysfs: &str, resolved: &str| device_name(Path::new(sysfs), Path::new(resolved));
        assert_eq!(d("/sys", "/sys/devices/pci0/phy0"), "pci0/phy0");
        assert_eq!(d("/sys/", "/sys/devices"), "");
        assert_eq!(d("/sys", "/sys/devicesX/a"), "/sys/devicesX/a");
        assert_eq!(d("t", "t/devices/platform/\u{e9}"), "platform/\u{e9}");
        assert_eq!(last_part(Path::new("../../../bus/pci/drivers/ath9k")), b"ath9k");
        assert_eq!(last_part(Path::new("ath9k")), b"ath9k");
        let l = |dir: &str, target: &str| lexical(Path::new(dir), Path::new(target));
        assert_eq!(l("/sys/class/ieee80211", "../../devices/pci0/phy0"), Path::new("/sys/devices/pci0/phy0"));
        assert_eq!(l("/sys/devices/a/ieee80211/phy0", "../../../b"), Path::new("/sys/devices/b"));
        assert_eq!(l("/sys", "/abs/./x"), Path::new("/abs/x"));
        assert_eq!(l("/", "../.."), Path::new("/"));
        assert_eq!(l("t/sys", "../../../x"), Path::new("../x"));
        assert_eq!(l(".", "devices"), Path::new("devices"));
    }

    #[test]
    fn gone_phy_is_none() {
        let tree = router();
        assert_eq!(Radio::read(tree.path(), "phy3").unwrap(), None);
    }

    #[test]
    fn optional_attributes() {
        // No device link, no driver, no macaddress: a radio is still a radio.
        let tree = TempTree::new("radio");
        tree.file("class/ieee80211/phy0/index", "0\n");
        let radio = Radio::read(tree.path(), "phy0").unwrap().unwrap();
        assert_eq!((radio.macaddress, radio.device, radio.driver), (None, None, None));
        // A device with no driver bound.
        let tree = TempTree::new("radio");
        add_phy(&tree, "phy0", 0, "00:00:00:00:00:01", "platform/wifi");
        let radio = Radio::read(tree.path(), "phy0").unwrap().unwrap();
        assert_eq!(radio.device.as_deref(), Some("platform/wifi"));
        assert_eq!(radio.driver, None);
    }

    #[test]
    fn bad_values() {
        let tree = TempTree::new("radio");
        tree.file("class/ieee80211/phy0/index", "zero\n");
        let err = Radio::read(tree.path(), "phy0").unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("phy phy0: {}/class/ieee80211/phy0/index: unexpected \"zero\"", tree.path().display())
        );
        tree.file("class/ieee80211/phy0/index", "0\n");
        tree.file("class/ieee80211/phy0/macaddress", "00:11:22:33:44\n");
        let err = RadioMap::read(tree.path()).unwrap_err();
        assert!(matches!(*err, Error::BadValue { .. }), "{err:?}");
    }
}
