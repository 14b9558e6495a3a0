//! Real frames recorded from a 6.12 kernel with hostapd on mac80211_hwsim (x86: little-endian),
//! copied from the shared captures into tests/data (see tests/data/README.md).

macro_rules! frame {
    ($name:ident, $file:literal) => {
        pub const $name: &[u8] = include_bytes!(concat!("../../tests/data/frames/", $file));
    };
}

frame!(START_AP_FOO, "start-ap-foo-005.bin");
frame!(START_AP_BAR, "restart-bar-004.bin");
frame!(START_AP_32, "ssid-32bytes-004.bin");
frame!(START_AP_NONUTF8, "ssid-nonutf8-004.bin");
frame!(TWO_BSS_FIRST, "two-bss-004.bin");
frame!(TWO_BSS_SECOND, "two-bss-011.bin");
frame!(STOP_AP, "ifdown-007.bin");
frame!(NEW_STATION, "station-009.bin");
frame!(DEL_STATION, "station-014.bin");
frame!(REG_CHANGE, "two-bss-020.bin");
frame!(SET_INTERFACE, "start-ap-foo-001.bin");
frame!(SET_INTERFACE_STATION, "ifdown-010.bin");
frame!(DEL_INTERFACE, "two-bss-017.bin");
frame!(GET_INTERFACE_AP_FOO, "get-interface-reply-ap-foo.bin");
frame!(GET_INTERFACE_NO_SSID, "get-interface-reply-no-ssid.bin");
frame!(CTRL_NL80211, "genl-ctrl-nl80211.bin");
frame!(NEWLINK_WLAN0_UP, "start-ap-foo-006.bin");
frame!(NEWLINK_WLAN0_BRIDGED, "bridge-dhcp-013.bin");
frame!(NEWLINK_BRIDGE_PORT, "bridge-dhcp-011.bin");
frame!(NEWLINK_BR_LAN, "bridge-dhcp-006.bin");
frame!(DELLINK_WLAN0_1, "two-bss-018.bin");
frame!(NEWLINK_WLAN0_DOWN, "restart-bar-009.bin");
frame!(NEW_WIPHY_BANDS, "new-wiphy-bands.bin");
frame!(DUMP_IFACE_1, "get-interface-dump-1.bin");
frame!(DUMP_IFACE_2, "get-interface-dump-2.bin");
frame!(DUMP_DONE, "get-interface-dump-done.bin");
frame!(DUMP_REQUEST_IW, "get-interface-dump-request-iw.bin");
