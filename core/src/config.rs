//! apwatch's configuration schema on top of [`crate::uci`]: the `apwatch` main section and the
//! `rule` sections, every value checked, every error located (line, section, option).

// A located error is ~170 bytes and there is no Box in no_std; config is parsed rarely.
#![allow(clippy::result_large_err)]

use core::fmt;
use core::net::Ipv4Addr;

use crate::escape::IwEscaped;
use crate::keyword::lookup;
use crate::rtnl::IFNAME_MAX;
use crate::ssid::Ssid;
use crate::uci::{self, Statement, Statements, Word};

/// Most rules a configuration may hold.
pub const MAX_RULES: usize = 16;
/// Most words of `dnsmasq_restart`.
pub const MAX_ARGS: usize = 8;
/// Longest path or argument.
pub const PATH_MAX: usize = 128;

/// A rule or network name: `[A-Za-z0-9_]{1,32}` (UCI section-name rules).
pub type Name = heapless::String<32>;
/// An interface name: 1..15 bytes, no `/`, `:`, whitespace.
pub type IfName = heapless::String<IFNAME_MAX>;
/// A path or an argument.
pub type Text = heapless::String<PATH_MAX>;

/// Log verbosity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum LogLevel {
    /// Errors only.
    Error,
    /// Errors and warnings.
    Warn,
    /// Decisions (the default).
    Info,
    /// Everything, including every event.
    Debug,
}

/// How bridge membership is changed, resolved from the configured [`BackendOption`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Backend {
    /// RTM_SETLINK IFLA_MASTER: the bridge is the rule's `bridge`.
    Rtnl,
    /// OpenWrt's netifd (`add_device` on the rule's `network`).
    Ubus,
}

impl Backend {
    /// The name in logs and the state file.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Rtnl => "rtnl",
            Backend::Ubus => "ubus",
        }
    }
}

impl BackendOption {
    /// `auto` is ubus where OpenWrt's ubusd runs (`ubus_present`), rtnl elsewhere.
    pub fn resolve(self, ubus_present: bool) -> Backend {
        match self {
            BackendOption::Rtnl => Backend::Rtnl,
            BackendOption::Ubus => Backend::Ubus,
            BackendOption::Auto if ubus_present => Backend::Ubus,
            BackendOption::Auto => Backend::Rtnl,
        }
    }
}

/// How AP netdevs are put into bridges, as configured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum BackendOption {
    /// ubus when OpenWrt's ubus socket exists, rtnl otherwise.
    Auto,
    /// OpenWrt's netifd, through `ubus call network.interface.<network> add_device`.
    Ubus,
    /// RTM_SETLINK IFLA_MASTER.
    Rtnl,
}

/// The `config apwatch` section.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Main {
    /// `enabled`
    pub enabled: bool,
    /// `log_level`
    pub log_level: LogLevel,
    /// `backend`
    pub backend: BackendOption,
    /// `dnsmasq_dir`
    pub dnsmasq_dir: Text,
    /// `dnsmasq_restart`: argv, one word per list entry.
    pub dnsmasq_restart: heapless::Vec<Text, MAX_ARGS>,
    /// `state_file`
    pub state_file: Text,
    /// `led`
    pub led: Option<Text>,
    /// `led_active_low`
    pub led_active_low: bool,
    /// `hostapd_ctrl_dir`: where hostapd's control sockets are (its `ctrl_interface`).
    pub hostapd_ctrl_dir: Text,
    /// `rtnl_fallback`: with the ubus backend, when netifd keeps not carrying out a membership,
    /// set the bridge port over rtnetlink (off by default: netifd owns its bridges).
    pub rtnl_fallback: bool,
}

impl Default for Main {
    fn default() -> Self {
        let text = |s: &str| Text::try_from(s).unwrap_or_default();
        let mut restart = heapless::Vec::new();
        let _ = restart.push(text("/etc/init.d/dnsmasq"));
        let _ = restart.push(text("restart"));
        Main {
            enabled: true,
            log_level: LogLevel::Info,
            backend: BackendOption::Auto,
            dnsmasq_dir: text("/tmp/dnsmasq.d"),
            dnsmasq_restart: restart,
            state_file: text("/var/run/apwatch.state"),
            led: None,
            led_active_low: false,
            rtnl_fallback: false,
            hostapd_ctrl_dir: text("/var/run/hostapd"),
        }
    }
}

/// The DHCP range of a rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DhcpRange {
    /// `dhcp_start`/`dhcp_limit`: offsets into the bridge's subnet, as OpenWrt's dhcp config.
    Offset {
        /// First host offset.
        start: u32,
        /// How many addresses.
        limit: u32,
    },
    /// `dhcp_range 'A,B'`: explicit addresses.
    Explicit {
        /// First address.
        start: Ipv4Addr,
        /// Last address.
        end: Ipv4Addr,
    },
}

#[cfg(feature = "defmt")]
impl defmt::Format for DhcpRange {
    fn format(&self, f: defmt::Formatter<'_>) {
        match self {
            DhcpRange::Offset { start, limit } => defmt::write!(f, "Offset {{ start: {}, limit: {} }}", start, limit),
            DhcpRange::Explicit { start, end } => {
                defmt::write!(f, "Explicit {{ start: {=[u8]}, end: {=[u8]} }}", start.octets(), end.octets())
            }
        }
    }
}

/// DHCP service for a rule's bridge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dhcp {
    /// The range.
    pub range: DhcpRange,
    /// `leasetime`, e.g. `12h` (digits and one of s/m/h/d/w, or `infinite`).
    pub leasetime: heapless::String<16>,
    /// `netmask`; default: the bridge address's prefix.
    pub netmask: Option<Ipv4Addr>,
}

#[cfg(feature = "defmt")]
impl defmt::Format for Dhcp {
    fn format(&self, f: defmt::Formatter<'_>) {
        let mask = self.netmask.map(|m| m.octets());
        defmt::write!(f, "Dhcp {{ range: {}, leasetime: {}, netmask: {} }}", self.range, self.leasetime.as_str(), mask)
    }
}

/// A `config rule` section.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Rule {
    /// The section name.
    pub name: Name,
    /// `ssid` or `ssid_hex`.
    pub ssid: Ssid,
    /// `bridge`
    pub bridge: Option<IfName>,
    /// `network`
    pub network: Option<Name>,
    /// DHCP, when any DHCP option is set.
    pub dhcp: Option<Dhcp>,
    /// `phy 'phyN'`: only APs on radio N.
    pub phy: Option<u32>,
    /// `ifname`: only this netdev.
    pub ifname: Option<IfName>,
    /// `vlan 'N'` (1..=4094): on a VLAN-filtering bridge, the AP port is a member of VLAN N
    /// only, as PVID and egress-untagged; DHCP is served on that VLAN's device.
    pub vlan: Option<u16>,
    /// Where the section starts (for errors found later).
    pub line: u32,
}

/// A whole configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Config {
    /// The main section (defaults when absent).
    pub main: Main,
    /// The rules, in file order; the first match wins.
    pub rules: heapless::Vec<Rule, MAX_RULES>,
}

/// What is wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ErrorKind {
    /// A UCI syntax error.
    Syntax(uci::ErrorKind),
    /// `config X` with an X apwatch does not know.
    UnknownSection,
    /// An option that the section does not have.
    UnknownOption,
    /// An `option` where a `list` is expected, or the reverse.
    WrongStatement,
    /// An option outside any section.
    OutsideSection,
    /// A bad value; the text says what is expected.
    BadValue(&'static str),
    /// A required option is missing.
    Missing(&'static str),
    /// Two options that exclude each other.
    Conflict(&'static str),
    /// A second section of the same name, or a second `apwatch` section.
    Duplicate,
    /// More rules or list entries than apwatch holds.
    TooMany,
}

/// A located configuration error. The agent prefixes the file name.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ConfigError {
    /// 1-based line number.
    pub line: u32,
    /// The section, e.g. `rule 'guest'`; empty outside sections.
    pub section: heapless::String<48>,
    /// The option; empty for section-level errors.
    pub option: heapless::String<32>,
    /// What is wrong.
    pub kind: ErrorKind,
    /// The offending value (first 32 bytes), shown escaped.
    pub value: heapless::Vec<u8, 32>,
}

/// A [`ConfigError`] located in a file: `FILE:LINE: section, option: message`, as compilers print it.
#[derive(Clone, Copy, Debug)]
pub struct InFile<'a> {
    /// The file's path, as the user gave it.
    pub path: &'a str,
    /// The error.
    pub error: &'a ConfigError,
}

impl ConfigError {
    /// The error located in the file at `path`.
    pub fn in_file<'a>(&'a self, path: &'a str) -> InFile<'a> {
        InFile { path, error: self }
    }

    fn fmt_message(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.section.is_empty() {
            write!(f, "{}", self.section)?;
            if !self.option.is_empty() {
                write!(f, ", option '{}'", self.option)?;
            }
            f.write_str(": ")?;
        }
        match self.kind {
            ErrorKind::Syntax(k) => write!(f, "{k}")?,
            ErrorKind::UnknownSection => f.write_str("unknown section type (expected apwatch or rule)")?,
            ErrorKind::UnknownOption => f.write_str("unknown option")?,
            ErrorKind::WrongStatement => f.write_str("use 'list' for lists and 'option' for single values")?,
            ErrorKind::OutsideSection => f.write_str("option outside a config section")?,
            ErrorKind::BadValue(want) => write!(f, "bad value \"{}\": expected {want}", IwEscaped(&self.value))?,
            ErrorKind::Missing(what) => write!(f, "missing {what}")?,
            ErrorKind::Conflict(what) => write!(f, "conflicting options: {what}")?,
            ErrorKind::Duplicate => f.write_str("defined twice")?,
            ErrorKind::TooMany => f.write_str("too many entries")?,
        }
        Ok(())
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: ", self.line)?;
        self.fmt_message(f)
    }
}

impl fmt::Display for InFile<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: ", self.path, self.error.line)?;
        self.error.fmt_message(f)
    }
}

/// The options of the `apwatch` section.
#[derive(Clone, Copy, PartialEq, Eq)]
enum MainOption {
    Enabled,
    LogLevel,
    Backend,
    DnsmasqDir,
    DnsmasqRestart,
    StateFile,
    Led,
    LedActiveLow,
    RtnlFallback,
    HostapdCtrlDir,
}

/// The options of a `rule` section.
#[derive(Clone, Copy, PartialEq, Eq)]
enum RuleOption {
    Ssid,
    SsidHex,
    Bridge,
    Network,
    DhcpStart,
    DhcpLimit,
    DhcpRange,
    Leasetime,
    Netmask,
    Phy,
    Ifname,
    Vlan,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Section {
    None,
    Main,
    Rule,
}

/// A rule being read: options may come in any order, so checks needing several run at the end.
#[derive(Default)]
struct RuleDraft {
    name: Name,
    line: u32,
    ssid: Option<Ssid>,
    ssid_both: bool,
    bridge: Option<IfName>,
    network: Option<Name>,
    start: Option<u32>,
    limit: Option<u32>,
    range: Option<(Ipv4Addr, Ipv4Addr)>,
    leasetime: Option<heapless::String<16>>,
    netmask: Option<Ipv4Addr>,
    phy: Option<u32>,
    ifname: Option<IfName>,
    vlan: Option<u16>,
}

/// Out of line: the one place a located error is built (size: not once per check).
#[inline(never)]
fn make_error(section: &heapless::String<48>, line: u32, option: &[u8], kind: ErrorKind, value: &[u8]) -> ConfigError {
    ConfigError {
        line,
        section: section.clone(),
        option: text_of(option.get(..option.len().min(32)).unwrap_or(&[])).unwrap_or_default(),
        kind,
        value: heapless::Vec::from_slice(value.get(..value.len().min(32)).unwrap_or(&[])).unwrap_or_default(),
    }
}

/// A check failed: the located error is in [`Parser::failure`]. A marker, so that `?` moves
/// nothing (a `ConfigError` is ~170 bytes, which every `?` would copy).
struct Failed;

struct Parser {
    /// The error of the check that failed, once one has.
    failure: Option<ConfigError>,
    config: Config,
    section: Section,
    section_label: heapless::String<48>,
    main_seen: bool,
    restart_set: bool,
    draft: Option<RuleDraft>,
}

fn text_of<const N: usize>(v: &[u8]) -> Option<heapless::String<N>> {
    let s = core::str::from_utf8(v).ok()?;
    heapless::String::try_from(s).ok()
}

fn is_name(v: &[u8]) -> bool {
    !v.is_empty() && v.len() <= 32 && v.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

fn parse_ifname(v: &[u8]) -> Option<IfName> {
    let ok = !v.is_empty()
        && v.len() <= IFNAME_MAX
        && v != b"."
        && v != b".."
        && v.iter().all(|&c| c.is_ascii_graphic() && c != b'/' && c != b':' && c != b'"' && c != b'\'');
    if ok {
        text_of(v)
    } else {
        None
    }
}

fn parse_bool(v: &[u8]) -> Option<bool> {
    const BOOLS: [(&[u8], bool); 10] = [
        (b"1", true),
        (b"yes", true),
        (b"on", true),
        (b"true", true),
        (b"enabled", true),
        (b"0", false),
        (b"no", false),
        (b"off", false),
        (b"false", false),
        (b"disabled", false),
    ];
    lookup(&BOOLS, v)
}

fn parse_u32(v: &[u8]) -> Option<u32> {
    crate::text::number(v)
}

/// A dotted quad as core's `Ipv4Addr::from_str` reads it: four decimal octets, none with a
/// leading zero (so `010` is not taken for octal or decimal).
fn parse_ipv4(v: &[u8]) -> Option<Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut parts = v.split(|&b| b == b'.');
    for o in &mut octets {
        let p = parts.next()?;
        if p.len() > 1 && p.first() == Some(&b'0') {
            return None;
        }
        *o = crate::text::number(p)?;
    }
    parts.next().is_none().then_some(Ipv4Addr::from(octets))
}

fn parse_leasetime(v: &[u8]) -> Option<heapless::String<16>> {
    let ok = match v {
        b"infinite" => true,
        [digits @ .., unit] => {
            let digits_ok = |d: &[u8]| !d.is_empty() && d.iter().all(u8::is_ascii_digit);
            if unit.is_ascii_digit() {
                digits_ok(v)
            } else {
                b"smhdw".contains(unit) && digits_ok(digits)
            }
        }
        [] => false,
    };
    if ok {
        text_of(v)
    } else {
        None
    }
}

fn parse_abs_path(v: &[u8]) -> Option<Text> {
    if v.first() == Some(&b'/') && !v.contains(&0) {
        text_of(v)
    } else {
        None
    }
}

impl Parser {
    fn error(&mut self, line: u32, option: &[u8], kind: ErrorKind, value: &[u8]) -> Failed {
        self.failure = Some(make_error(&self.section_label, line, option, kind, value));
        Failed
    }

    /// `w` unquoted into `out`.
    fn value(
        &mut self,
        line: u32,
        name: &[u8],
        w: Word<'_>,
        out: &mut heapless::Vec<u8, PATH_MAX>,
    ) -> Result<(), Failed> {
        match w.unquote() {
            Ok(v) => {
                *out = v;
                Ok(())
            }
            Err(k) => Err(self.error(line, name, ErrorKind::Syntax(k), w.raw())),
        }
    }

    /// Every statement of `text`, then the last rule's checks.
    fn parse_all(&mut self, text: &[u8]) -> Result<(), Failed> {
        // the words of a statement, unquoted: its type and name, or its option and value
        let (mut a, mut b) = (heapless::Vec::new(), heapless::Vec::new());
        for line in Statements::new(text) {
            let line = match line {
                Ok(l) => l,
                Err(e) => return Err(self.error(e.line, b"", ErrorKind::Syntax(e.kind), &[])),
            };
            let n = line.number;
            match line.statement {
                Statement::Package(_) => {}
                Statement::Config { kind, name } => {
                    self.value(n, b"", kind, &mut a)?;
                    let name = match name {
                        Some(w) => {
                            self.value(n, b"", w, &mut b)?;
                            Some(b.as_slice())
                        }
                        None => None,
                    };
                    self.start_section(n, &a, name)?;
                }
                Statement::Option { name, value } | Statement::List { name, value } => {
                    let is_list = matches!(line.statement, Statement::List { .. });
                    self.value(n, b"", name, &mut a)?;
                    self.value(n, &a, value, &mut b)?;
                    let done = match self.section {
                        Section::None => Err(ErrorKind::OutsideSection),
                        Section::Main => self.main_option(&a, &b, is_list),
                        Section::Rule => self.rule_option(&a, &b, is_list),
                    };
                    if let Err(kind) = done {
                        // the value is shown with what is wrong with it, not with an unknown name
                        let shown: &[u8] = if kind == ErrorKind::UnknownOption { &[] } else { &b };
                        return Err(self.error(n, &a, kind, shown));
                    }
                }
            }
        }
        self.finish_rule()
    }

    fn start_section(&mut self, line: u32, kind: &[u8], name: Option<&[u8]>) -> Result<(), Failed> {
        self.finish_rule()?;
        self.section_label.clear();
        let label = |kind: &str, name: &[u8]| {
            let mut s = heapless::String::<48>::new();
            let _ = fmt::write(
                &mut s,
                format_args!("{kind} '{}'", IwEscaped(name.get(..name.len().min(32)).unwrap_or(&[]))),
            );
            s
        };
        match kind {
            b"apwatch" => {
                self.section_label = label("apwatch", name.unwrap_or(b"main"));
                if self.main_seen {
                    return Err(self.error(line, b"", ErrorKind::Duplicate, &[]));
                }
                self.main_seen = true;
                self.section = Section::Main;
            }
            b"rule" => {
                let name = name.unwrap_or(b"");
                self.section_label = label("rule", name);
                if !is_name(name) {
                    return Err(self.error(
                        line,
                        b"",
                        ErrorKind::BadValue("a rule name of 1-32 letters, digits or _"),
                        name,
                    ));
                }
                if self.config.rules.iter().any(|r| r.name.as_bytes() == name) {
                    return Err(self.error(line, b"", ErrorKind::Duplicate, name));
                }
                self.draft = Some(RuleDraft { name: text_of(name).unwrap_or_default(), line, ..RuleDraft::default() });
                self.section = Section::Rule;
            }
            other => {
                self.section_label = label("config", other);
                return Err(self.error(line, b"", ErrorKind::UnknownSection, other));
            }
        }
        Ok(())
    }

    /// One option of the `apwatch` section; the caller locates what is wrong.
    fn main_option(&mut self, name: &[u8], v: &[u8], is_list: bool) -> Result<(), ErrorKind> {
        use MainOption as O;
        const MAIN: [(&[u8], MainOption); 10] = [
            (b"enabled", O::Enabled),
            (b"log_level", O::LogLevel),
            (b"backend", O::Backend),
            (b"dnsmasq_dir", O::DnsmasqDir),
            (b"dnsmasq_restart", O::DnsmasqRestart),
            (b"state_file", O::StateFile),
            (b"led", O::Led),
            (b"led_active_low", O::LedActiveLow),
            (b"rtnl_fallback", O::RtnlFallback),
            (b"hostapd_ctrl_dir", O::HostapdCtrlDir),
        ];
        const LEVELS: [(&[u8], LogLevel); 5] = [
            (b"error", LogLevel::Error),
            (b"warn", LogLevel::Warn),
            (b"warning", LogLevel::Warn),
            (b"info", LogLevel::Info),
            (b"debug", LogLevel::Debug),
        ];
        const BACKENDS: [(&[u8], BackendOption); 3] =
            [(b"auto", BackendOption::Auto), (b"ubus", BackendOption::Ubus), (b"rtnl", BackendOption::Rtnl)];
        let Some(option) = lookup(&MAIN, name) else { return Err(ErrorKind::UnknownOption) };
        if is_list != (option == O::DnsmasqRestart) {
            return Err(ErrorKind::WrongStatement);
        }
        let bad = ErrorKind::BadValue;
        let m = &mut self.config.main;
        match option {
            // options of one kind share one parse and one error path: an arm each, each with
            // its own `?`, is 0.6 KB more of the router binary (measured)
            O::Enabled | O::LedActiveLow | O::RtnlFallback => {
                let b = parse_bool(v).ok_or(bad("0 or 1"))?;
                *match option {
                    O::Enabled => &mut m.enabled,
                    O::LedActiveLow => &mut m.led_active_low,
                    _ => &mut m.rtnl_fallback,
                } = b;
            }
            O::LogLevel => m.log_level = lookup(&LEVELS, v).ok_or(bad("error, warn, info or debug"))?,
            O::Backend => m.backend = lookup(&BACKENDS, v).ok_or(bad("auto, ubus or rtnl"))?,
            O::DnsmasqDir | O::StateFile | O::HostapdCtrlDir => {
                let path = parse_abs_path(v).ok_or(bad("an absolute path"))?;
                *match option {
                    O::DnsmasqDir => &mut m.dnsmasq_dir,
                    O::StateFile => &mut m.state_file,
                    _ => &mut m.hostapd_ctrl_dir,
                } = path;
            }
            O::Led => {
                let ok = !v.is_empty() && !v.contains(&b'/') && v != b"." && v != b"..";
                let led = text_of(v).filter(|_| ok).ok_or(bad("an LED name or gpiochipN:LINE"))?;
                m.led = Some(led);
            }
            O::DnsmasqRestart => {
                let ok = !v.is_empty() && !v.contains(&0);
                let arg = text_of(v).filter(|_| ok).ok_or(bad("a program path or an argument"))?;
                if !self.restart_set {
                    // the first list entry replaces the default command
                    m.dnsmasq_restart.clear();
                    self.restart_set = true;
                }
                if m.dnsmasq_restart.push(arg).is_err() {
                    return Err(ErrorKind::TooMany);
                }
            }
        }
        Ok(())
    }

    /// One option of a `rule` section; the caller locates what is wrong.
    fn rule_option(&mut self, name: &[u8], v: &[u8], is_list: bool) -> Result<(), ErrorKind> {
        use RuleOption as O;
        const RULE: [(&[u8], RuleOption); 12] = [
            (b"ssid", O::Ssid),
            (b"ssid_hex", O::SsidHex),
            (b"bridge", O::Bridge),
            (b"network", O::Network),
            (b"dhcp_start", O::DhcpStart),
            (b"dhcp_limit", O::DhcpLimit),
            (b"dhcp_range", O::DhcpRange),
            (b"leasetime", O::Leasetime),
            (b"netmask", O::Netmask),
            (b"phy", O::Phy),
            (b"ifname", O::Ifname),
            (b"vlan", O::Vlan),
        ];
        let Some(option) = lookup(&RULE, name) else { return Err(ErrorKind::UnknownOption) };
        if is_list {
            return Err(ErrorKind::WrongStatement);
        }
        let bad = ErrorKind::BadValue;
        let Some(d) = self.draft.as_mut() else { return Err(ErrorKind::OutsideSection) };
        match option {
            O::Ssid | O::SsidHex => {
                let ssid = if option == O::Ssid {
                    Ssid::new(v).map_err(|_| bad("an SSID of 1-32 bytes"))?
                } else {
                    Ssid::from_hex(v).map_err(|_| bad("2-64 hex digits (1-32 bytes)"))?
                };
                d.ssid_both |= d.ssid.is_some();
                d.ssid = Some(ssid);
            }
            O::Bridge | O::Ifname => {
                let n = parse_ifname(v).ok_or(bad("an interface name of 1-15 characters"))?;
                *if option == O::Bridge { &mut d.bridge } else { &mut d.ifname } = Some(n);
            }
            O::Network => {
                d.network = Some(text_of(v).filter(|_| is_name(v)).ok_or(bad("a network name (letters, digits, _)"))?)
            }
            O::DhcpStart => d.start = Some(parse_u32(v).ok_or(bad("a number"))?),
            O::DhcpLimit => d.limit = Some(parse_u32(v).filter(|&n| n > 0).ok_or(bad("a number above 0"))?),
            O::DhcpRange => {
                let mut parts = v.split(|&c| c == b',');
                let (a, b) = (parts.next().and_then(parse_ipv4), parts.next().and_then(parse_ipv4));
                match (a, b, parts.next()) {
                    (Some(a), Some(b), None) if u32::from(a) <= u32::from(b) => d.range = Some((a, b)),
                    _ => return Err(bad("FIRST,LAST IPv4 addresses")),
                }
            }
            O::Leasetime => {
                d.leasetime = Some(parse_leasetime(v).ok_or(bad("a time like 12h, 30m, 3600 or infinite"))?)
            }
            O::Netmask => {
                let m = parse_ipv4(v).filter(|m| {
                    let bits = u32::from(*m);
                    bits.leading_ones() + bits.trailing_zeros() == 32
                });
                d.netmask = Some(m.ok_or(bad("a netmask like 255.255.255.0"))?);
            }
            O::Vlan => {
                let id = parse_u32(v);
                let id = id.and_then(|n| u16::try_from(n).ok()).filter(|&n| crate::brvlan::is_valid_vid(n));
                d.vlan = Some(id.ok_or(bad("a VLAN id 1-4094"))?);
            }
            O::Phy => {
                let n = v.strip_prefix(b"phy").and_then(parse_u32);
                d.phy = Some(n.ok_or(bad("a radio name like phy0"))?);
            }
        }
        Ok(())
    }

    fn finish_rule(&mut self) -> Result<(), Failed> {
        let Some(d) = self.draft.take() else { return Ok(()) };
        let mut err = |option: &[u8], kind| self.error(d.line, option, kind, &[]);
        if d.ssid_both {
            return Err(err(b"ssid", ErrorKind::Conflict("ssid and ssid_hex")));
        }
        let Some(ssid) = d.ssid else { return Err(err(b"ssid", ErrorKind::Missing("ssid or ssid_hex"))) };
        if d.vlan.is_some() && d.bridge.is_none() && d.network.is_none() {
            return Err(err(b"vlan", ErrorKind::Missing("bridge or network (the VLAN-filtering bridge of the VLAN)")));
        }
        if d.bridge.is_none() && d.network.is_none() {
            return Err(err(b"bridge", ErrorKind::Missing("bridge (rtnl backend) or network (ubus backend)")));
        }
        let range = match (d.start, d.limit, d.range) {
            (None, None, None) => None,
            (Some(start), Some(limit), None) => Some(DhcpRange::Offset { start, limit }),
            (None, None, Some((start, end))) => Some(DhcpRange::Explicit { start, end }),
            (_, _, Some(_)) => {
                return Err(err(b"dhcp_range", ErrorKind::Conflict("dhcp_range and dhcp_start/dhcp_limit")))
            }
            (None, Some(_), None) => {
                return Err(err(b"dhcp_start", ErrorKind::Missing("dhcp_start (with dhcp_limit)")))
            }
            (Some(_), None, None) => {
                return Err(err(b"dhcp_limit", ErrorKind::Missing("dhcp_limit (with dhcp_start)")))
            }
        };
        let dhcp = match range {
            Some(range) => Some(Dhcp {
                range,
                leasetime: d.leasetime.unwrap_or_else(|| heapless::String::try_from("12h").unwrap_or_default()),
                netmask: d.netmask,
            }),
            None if d.leasetime.is_some() || d.netmask.is_some() => {
                return Err(err(
                    b"dhcp_start",
                    ErrorKind::Missing("a DHCP range (dhcp_start/dhcp_limit or dhcp_range)"),
                ))
            }
            None => None,
        };
        let line = d.line;
        let rule = Rule {
            name: d.name,
            ssid,
            bridge: d.bridge,
            network: d.network,
            dhcp,
            phy: d.phy,
            ifname: d.ifname,
            vlan: d.vlan,
            line,
        };
        self.config.rules.push(rule).map_err(|_| self.error(line, b"", ErrorKind::TooMany, &[]))
    }
}

/// Parses and checks a whole configuration text.
pub fn parse(text: &[u8]) -> Result<Config, ConfigError> {
    let mut p = Parser {
        failure: None,
        config: Config::default(),
        section: Section::None,
        section_label: heapless::String::new(),
        main_seen: false,
        restart_set: false,
        draft: None,
    };
    match p.parse_all(text) {
        Ok(()) => Ok(p.config),
        // every `Failed` stored its error first; the fallback only keeps this total
        Err(Failed) => Err(p.failure.unwrap_or_else(|| make_error(&p.section_label, 0, b"", ErrorKind::TooMany, &[]))),
    }
}

impl Config {
    /// Checks that every rule has what `backend` needs (a bridge for rtnl, a network for ubus).
    pub fn check_backend(&self, backend: Backend) -> Result<(), ConfigError> {
        for r in &self.rules {
            let (ok, option, what) = match backend {
                Backend::Rtnl => (r.bridge.is_some(), "bridge", "bridge (the rtnl backend needs it)"),
                Backend::Ubus => (r.network.is_some(), "network", "network (the ubus backend needs it)"),
            };
            if !ok {
                let mut section = heapless::String::new();
                let _ = fmt::write(&mut section, format_args!("rule '{}'", r.name));
                return Err(ConfigError {
                    line: r.line,
                    section,
                    option: heapless::String::try_from(option).unwrap_or_default(),
                    kind: ErrorKind::Missing(what),
                    value: heapless::Vec::new(),
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;

    const GOOD: &str = "\
config apwatch 'main'
\toption enabled '1'
\toption log_level 'debug'
\toption backend 'rtnl'
\toption dnsmasq_dir '/tmp/d'
\tlist dnsmasq_restart '/bin/sh'
\tlist dnsmasq_restart '-c'
\tlist dnsmasq_restart 'kill -HUP 1'

config rule 'guest'
\toption ssid 'bar'
\toption bridge 'br-guest'
\toption dhcp_start '100'
\toption dhcp_limit '50'
\toption leasetime '1h'

config rule 'hex'
\toption ssid_hex '66ff6f80'
\toption network 'iot'
\toption dhcp_range '192.0.2.10,192.0.2.20'
\toption netmask '255.255.255.0'
\toption phy 'phy1'
\toption ifname 'wlan1'
";

    #[test]
    fn rtnl_fallback_is_off_unless_asked_and_resolve_picks_the_backend() {
        assert!(!parse(GOOD.as_bytes()).unwrap().main.rtnl_fallback);
        let on = parse(b"config apwatch 'main'\n\toption rtnl_fallback '1'\n").unwrap();
        assert!(on.main.rtnl_fallback);
        let e = parse(b"config apwatch 'main'\n\toption rtnl_fallback 'yes please'\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "line 2: apwatch 'main', option 'rtnl_fallback': bad value \"yes please\": expected 0 or 1"
        );
        assert_eq!(BackendOption::Auto.resolve(true), Backend::Ubus);
        assert_eq!(BackendOption::Auto.resolve(false), Backend::Rtnl);
        assert_eq!(BackendOption::Rtnl.resolve(true), Backend::Rtnl);
        assert_eq!(BackendOption::Ubus.resolve(false), Backend::Ubus);
    }

    #[test]
    fn a_good_file() {
        let c = parse(GOOD.as_bytes()).unwrap();
        assert_eq!(c.main.log_level, LogLevel::Debug);
        assert_eq!(c.main.backend, BackendOption::Rtnl);
        assert_eq!(c.main.dnsmasq_dir.as_str(), "/tmp/d");
        let argv: std::vec::Vec<&str> = c.main.dnsmasq_restart.iter().map(|s| s.as_str()).collect();
        assert_eq!(argv, ["/bin/sh", "-c", "kill -HUP 1"]);
        assert_eq!(c.rules.len(), 2);
        let g = &c.rules[0];
        assert_eq!((g.name.as_str(), g.ssid.as_bytes(), g.line), ("guest", &b"bar"[..], 10));
        assert_eq!(g.bridge.as_deref(), Some("br-guest"));
        let d = g.dhcp.as_ref().unwrap();
        assert_eq!(d.range, DhcpRange::Offset { start: 100, limit: 50 });
        assert_eq!(d.leasetime.as_str(), "1h");
        let h = &c.rules[1];
        assert_eq!(h.ssid.as_bytes(), b"f\xffo\x80");
        assert_eq!((h.phy, h.ifname.as_deref(), h.network.as_deref()), (Some(1), Some("wlan1"), Some("iot")));
        assert_eq!(
            h.dhcp.as_ref().unwrap().range,
            DhcpRange::Explicit { start: Ipv4Addr::new(192, 0, 2, 10), end: Ipv4Addr::new(192, 0, 2, 20) }
        );
        let e = c.check_backend(Backend::Rtnl).unwrap_err();
        assert_eq!(e.to_string(), "line 17: rule 'hex', option 'bridge': missing bridge (the rtnl backend needs it)");
        assert_eq!(
            e.in_file("/etc/config/apwatch").to_string(),
            "/etc/config/apwatch:17: rule 'hex', option 'bridge': missing bridge (the rtnl backend needs it)"
        );
        assert!(c.check_backend(Backend::Ubus).is_err());
    }

    #[test]
    fn defaults_when_empty() {
        let c = parse(b"").unwrap();
        assert_eq!(c.main, Main::default());
        assert!(c.rules.is_empty());
        assert_eq!(c.main.dnsmasq_restart.len(), 2);
    }

    fn err(text: &str) -> std::string::String {
        parse(text.as_bytes()).unwrap_err().to_string()
    }

    #[test]
    fn bad_files_give_located_errors() {
        let cases: &[(&str, &str)] = &[
            ("config rule 'x\n", "line 1: unterminated quote or escape"),
            ("option a b\n", "line 1: option outside a config section"),
            ("config wifi 'x'\n", "line 1: config 'wifi': unknown section type (expected apwatch or rule)"),
            ("config apwatch\n\toption colour 'red'\n", "line 2: apwatch 'main', option 'colour': unknown option"),
            ("config apwatch\n\toption enabled 'maybe'\n", "line 2: apwatch 'main', option 'enabled': bad value \"maybe\": expected 0 or 1"),
            ("config apwatch\n\toption backend 'nm'\n", "line 2: apwatch 'main', option 'backend': bad value \"nm\": expected auto, ubus or rtnl"),
            ("config apwatch\n\toption dnsmasq_dir 'tmp'\n", "line 2: apwatch 'main', option 'dnsmasq_dir': bad value \"tmp\": expected an absolute path"),
            ("config apwatch\n\toption dnsmasq_restart '/x'\n", "line 2: apwatch 'main', option 'dnsmasq_restart': use 'list' for lists and 'option' for single values"),
            ("config apwatch\nconfig apwatch\n", "line 2: apwatch 'main': defined twice"),
            ("config rule\n", "line 1: rule '': bad value \"\": expected a rule name of 1-32 letters, digits or _"),
            ("config rule 'a-b'\n", "line 1: rule 'a-b': bad value \"a-b\": expected a rule name of 1-32 letters, digits or _"),
            ("config rule 'a'\n\toption bridge 'br'\n", "line 1: rule 'a', option 'ssid': missing ssid or ssid_hex"),
            ("config rule 'a'\n\toption ssid 'x'\n", "line 1: rule 'a', option 'bridge': missing bridge (rtnl backend) or network (ubus backend)"),
            ("config rule 'a'\n\toption ssid 'x'\n\toption ssid_hex '78'\n\toption bridge 'b'\n", "line 1: rule 'a', option 'ssid': conflicting options: ssid and ssid_hex"),
            ("config rule 'a'\n\toption ssid '0123456789abcdef0123456789abcdefX'\n", "line 2: rule 'a', option 'ssid': bad value \"0123456789abcdef0123456789abcdef\": expected an SSID of 1-32 bytes"),
            ("config rule 'a'\n\toption ssid_hex '6'\n", "line 2: rule 'a', option 'ssid_hex': bad value \"6\": expected 2-64 hex digits (1-32 bytes)"),
            ("config rule 'a'\n\toption bridge 'br/x'\n", "line 2: rule 'a', option 'bridge': bad value \"br/x\": expected an interface name of 1-15 characters"),
            ("config rule 'a'\n\toption bridge 'br-very-long-name'\n", "line 2: rule 'a', option 'bridge': bad value \"br-very-long-name\": expected an interface name of 1-15 characters"),
            ("config rule 'a'\n\toption dhcp_start 'abc'\n", "line 2: rule 'a', option 'dhcp_start': bad value \"abc\": expected a number"),
            ("config rule 'a'\n\toption dhcp_range '192.0.2.9,192.0.2.1'\n", "line 2: rule 'a', option 'dhcp_range': bad value \"192.0.2.9,192.0.2.1\": expected FIRST,LAST IPv4 addresses"),
            ("config rule 'a'\n\toption netmask '255.0.255.0'\n", "line 2: rule 'a', option 'netmask': bad value \"255.0.255.0\": expected a netmask like 255.255.255.0"),
            ("config rule 'a'\n\toption leasetime '12x'\n", "line 2: rule 'a', option 'leasetime': bad value \"12x\": expected a time like 12h, 30m, 3600 or infinite"),
            ("config rule 'a'\n\toption phy 'radio0'\n", "line 2: rule 'a', option 'phy': bad value \"radio0\": expected a radio name like phy0"),
            ("config rule 'a'\n\tlist ssid 'x'\n", "line 2: rule 'a', option 'ssid': use 'list' for lists and 'option' for single values"),
            ("config rule 'a'\n\toption ssid 'x'\n\toption bridge 'b'\n\toption dhcp_start '1'\n", "line 1: rule 'a', option 'dhcp_limit': missing dhcp_limit (with dhcp_start)"),
            ("config rule 'a'\n\toption ssid 'x'\n\toption bridge 'b'\n\toption leasetime '1h'\n", "line 1: rule 'a', option 'dhcp_start': missing a DHCP range (dhcp_start/dhcp_limit or dhcp_range)"),
            ("config rule 'a'\n\toption ssid 'x'\n\toption bridge 'b'\nconfig rule 'a'\n", "line 4: rule 'a': defined twice"),
            ("config rule 'a'\n\toption ssid '$(x)\n", "line 2: rule 'a': unterminated quote or escape"),
        ];
        for (text, want) in cases {
            assert_eq!(&err(text), want, "for {text:?}");
        }
    }

    #[test]
    fn vlan_rules() {
        let c = parse(
            b"config rule 'home'\n\toption ssid 'home'\n\toption bridge 'br-lan'\n\toption vlan '10'\n\n\
              config rule 'guest'\n\toption ssid 'guest'\n\toption network 'lan'\n\toption vlan '4094'\n\n\
              config rule 'plain'\n\toption ssid 'plain'\n\toption bridge 'br-lan'\n\toption vlan '1'\n\n\
              config rule 'none'\n\toption ssid 'none'\n\toption bridge 'br-x'\n",
        )
        .unwrap();
        let v: std::vec::Vec<_> = c.rules.iter().map(|r| (r.name.as_str(), r.vlan)).collect();
        assert_eq!(v, [("home", Some(10)), ("guest", Some(4094)), ("plain", Some(1)), ("none", None)]);
        assert_eq!(c.rules[1].network.as_deref(), Some("lan"));
        let cases: &[(&str, &str)] = &[
            (
                "config rule 'a'\n\toption vlan '0'\n",
                "line 2: rule 'a', option 'vlan': bad value \"0\": expected a VLAN id 1-4094",
            ),
            (
                "config rule 'a'\n\toption vlan '4095'\n",
                "line 2: rule 'a', option 'vlan': bad value \"4095\": expected a VLAN id 1-4094",
            ),
            (
                "config rule 'a'\n\toption vlan '65556'\n",
                "line 2: rule 'a', option 'vlan': bad value \"65556\": expected a VLAN id 1-4094",
            ),
            (
                "config rule 'a'\n\toption vlan 'ten'\n",
                "line 2: rule 'a', option 'vlan': bad value \"ten\": expected a VLAN id 1-4094",
            ),
            (
                "config rule 'a'\n\toption vlan '+20'\n",
                "line 2: rule 'a', option 'vlan': bad value \"+20\": expected a VLAN id 1-4094",
            ),
            (
                "config rule 'a'\n\toption vlan ' 20'\n",
                "line 2: rule 'a', option 'vlan': bad value \"\\x2020\": expected a VLAN id 1-4094",
            ),
            (
                "config rule 'a'\n\toption vlan ''\n",
                "line 2: rule 'a', option 'vlan': bad value \"\": expected a VLAN id 1-4094",
            ),
            (
                "config rule 'a'\n\tlist vlan '20'\n",
                "line 2: rule 'a', option 'vlan': use 'list' for lists and 'option' for single values",
            ),
            (
                "config rule 'a'\n\toption ssid 'x'\n\toption vlan '20'\n",
                "line 1: rule 'a', option 'vlan': missing bridge or network (the VLAN-filtering bridge of the VLAN)",
            ),
            ("config apwatch\n\toption vlan '20'\n", "line 2: apwatch 'main', option 'vlan': unknown option"),
        ];
        for (text, want) in cases {
            assert_eq!(&err(text), want, "for {text:?}");
        }
    }

    #[test]
    fn hostile_values_are_escaped_in_errors() {
        let e = err("config rule 'a'\n\toption bridge \"\\\"; rm -rf /\n\"\n");
        assert!(e.contains("unterminated"), "{e}");
        let e = parse(b"config rule 'a'\n\toption network 'x\xff\"y'\n").unwrap_err().to_string();
        assert_eq!(e, "line 2: rule 'a', option 'network': bad value \"x\\xff\\x22y\": expected a network name (letters, digits, _)");
    }

    #[test]
    fn rule_capacity_is_bounded() {
        let mut text = std::string::String::new();
        for i in 0..=MAX_RULES {
            text.push_str(&std::format!("config rule 'r{i}'\n\toption ssid 's{i}'\n\toption bridge 'b'\n"));
        }
        assert_eq!(err(&text), "line 49: rule 'r16': too many entries");
    }

    #[test]
    fn ipv4_as_core_reads_it() {
        for t in [
            "192.168.1.1",
            "0.0.0.0",
            "255.255.255.255",
            "256.1.1.1",
            "1.2.3",
            "1.2.3.4.5",
            "01.2.3.4",
            "1.2.3.00",
            "1..2.3",
            "",
            "1.2.3.4 ",
            "+1.2.3.4",
            "1.2.3.-4",
            "a.b.c.d",
            "1.2.3.4.",
        ] {
            assert_eq!(parse_ipv4(t.as_bytes()), t.parse().ok(), "{t}");
        }
    }
}
