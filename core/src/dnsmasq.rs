//! The dnsmasq drop-in of a rule: `interface=` the rule's bridge and a `dhcp-range` tagged with
//! the rule name. Only validated names and addresses are written: an SSID never reaches it.

use core::fmt::{self, Write};
use core::net::Ipv4Addr;

use crate::config::{DhcpRange, Rule};

/// Why a drop-in cannot be rendered (yet).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum RenderError {
    /// Offsets need the bridge's IPv4 address, and it has none (yet).
    NoBridgeAddress,
    /// The offsets fall outside the bridge's subnet.
    OutsideSubnet,
    /// The output buffer is too small.
    Full,
}

impl fmt::Display for RenderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RenderError::NoBridgeAddress => "the bridge has no IPv4 address for dhcp_start/dhcp_limit",
            RenderError::OutsideSubnet => "dhcp_start/dhcp_limit fall outside the bridge's subnet",
            RenderError::Full => "drop-in too long",
        })
    }
}

impl From<fmt::Error> for RenderError {
    fn from(_: fmt::Error) -> Self {
        RenderError::Full
    }
}

/// The file name of a rule's drop-in.
pub fn file_name(rule: &str, out: &mut impl Write) -> fmt::Result {
    // three plain writes: `write!` with an argument goes through the formatting machinery, half
    // of a reconcile's instructions when every rule's name is made (`callgrind-policy` in the bench crate)
    out.write_str("apwatch-")?;
    out.write_str(rule)?;
    out.write_str(".conf")
}

fn prefix_mask(prefix_len: u8) -> u32 {
    u32::MAX.checked_shl(32u32.saturating_sub(u32::from(prefix_len))).unwrap_or(0)
}

/// Writes the drop-in for `rule` serving `bridge`, whose IPv4 address is `addr` (address, prefix
/// length) when it has one. `None` when the rule has no DHCP options.
pub fn render(
    rule: &Rule,
    bridge: &str,
    addr: Option<(Ipv4Addr, u8)>,
    out: &mut impl Write,
) -> Result<Option<()>, RenderError> {
    let Some(dhcp) = &rule.dhcp else { return Ok(None) };
    let (start, end, mask) = match dhcp.range {
        DhcpRange::Explicit { start, end } => (start, end, dhcp.netmask),
        DhcpRange::Offset { start, limit } => {
            let (ip, prefix) = addr.ok_or(RenderError::NoBridgeAddress)?;
            let mask = dhcp.netmask.map(u32::from).unwrap_or_else(|| prefix_mask(prefix));
            let net = u32::from(ip) & mask;
            let broadcast = net | !mask;
            let first =
                net.checked_add(start).filter(|&a| a > net && a < broadcast).ok_or(RenderError::OutsideSubnet)?;
            let last = first.saturating_add(limit.saturating_sub(1)).min(broadcast.saturating_sub(1));
            (Ipv4Addr::from(first), Ipv4Addr::from(last), Some(Ipv4Addr::from(mask)))
        }
    };
    writeln!(out, "# written by apwatch for rule {}; changes are overwritten", rule.name)?;
    writeln!(out, "interface={bridge}")?;
    write!(out, "dhcp-range=set:apwatch_{},{start},{end}", rule.name)?;
    if let Some(m) = mask {
        write!(out, ",{m}")?;
    }
    writeln!(out, ",{}", dhcp.leasetime)?;
    Ok(Some(()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config;

    fn rule(text: &str) -> Rule {
        config::parse(text.as_bytes()).unwrap().rules[0].clone()
    }

    fn render_s(r: &Rule, addr: Option<(Ipv4Addr, u8)>) -> Result<Option<heapless::String<256>>, RenderError> {
        let mut s = heapless::String::new();
        Ok(render(r, "br-guest", addr, &mut s)?.map(|_| s))
    }

    #[test]
    fn offsets_into_the_bridge_subnet() {
        let r = rule("config rule 'guest'\n option ssid 'x'\n option bridge 'br-guest'\n option dhcp_start '100'\n option dhcp_limit '50'\n");
        let s = render_s(&r, Some((Ipv4Addr::new(192, 0, 2, 1), 24))).unwrap().unwrap();
        assert_eq!(
            s.as_str(),
            "# written by apwatch for rule guest; changes are overwritten\ninterface=br-guest\n\
             dhcp-range=set:apwatch_guest,192.0.2.100,192.0.2.149,255.255.255.0,12h\n"
        );
        // clamped below the broadcast address
        let r = rule("config rule 'g'\n option ssid 'x'\n option bridge 'b'\n option dhcp_start '200'\n option dhcp_limit '250'\n");
        let s = render_s(&r, Some((Ipv4Addr::new(192, 0, 2, 1), 24))).unwrap().unwrap();
        assert!(s.contains(",192.0.2.200,192.0.2.254,"), "{s}");
        assert_eq!(render_s(&r, None), Err(RenderError::NoBridgeAddress));
        assert_eq!(render_s(&r, Some((Ipv4Addr::new(10, 0, 0, 1), 25))), Err(RenderError::OutsideSubnet));
    }

    #[test]
    fn explicit_range_and_no_dhcp() {
        let r = rule("config rule 'g'\n option ssid 'x'\n option bridge 'b'\n option dhcp_range '192.0.2.10,192.0.2.20'\n option leasetime 'infinite'\n");
        let s = render_s(&r, None).unwrap().unwrap();
        assert!(s.ends_with("dhcp-range=set:apwatch_g,192.0.2.10,192.0.2.20,infinite\n"), "{s}");
        let r = rule("config rule 'g'\n option ssid 'x'\n option bridge 'b'\n");
        assert_eq!(render_s(&r, None), Ok(None));
    }

    #[test]
    fn the_ssid_never_reaches_the_file() {
        let r = rule("config rule 'g'\n option ssid '\";$(reboot)%s'\n option bridge 'b'\n option dhcp_range '192.0.2.10,192.0.2.20'\n");
        let s = render_s(&r, None).unwrap().unwrap();
        assert!(!s.contains("reboot") && !s.contains('$') && !s.contains("%s"), "{s}");
        let mut name: heapless::String<32> = heapless::String::new();
        file_name("g", &mut name).unwrap();
        assert_eq!(name.as_str(), "apwatch-g.conf");
    }
}
