//! apwatch: puts AP netdevs into the right bridge and serves DHCP there, driven by nl80211
//! START_AP (Linux ≥ 6.3) and link events. `main` parses the command line and dispatches.

// Tests may unwrap: a panic there is a failing test.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

use std::process::ExitCode;

use apwatch::{config_file, monitor, radios, run, state, Exit};

use apwatch_core::config::BackendOption;
use apwatch_core::escape::IwEscaped;

const HELP: &str = "\
apwatch: puts Wi-Fi AP netdevs into the right bridge and serves DHCP there, following the
kernel's nl80211 START_AP events (Linux >= 6.3; older kernels: link events).

Usage: apwatch [--config PATH] COMMAND

Commands:
  run                  the service (SIGTERM: exit, SIGHUP: reload the config)
  monitor [--json]     print nl80211 (mlme, config) and link events as they come
  status [--json]      the APs apwatch serves: phy, ifname, ssid, rule, bridge, since
  check-config [FILE]  check a config file (default: --config or /etc/config/apwatch)

Options:
  -c, --config PATH    configuration file [default: /etc/config/apwatch]
  -h, --help           this text
  -V, --version        the version

Exit codes: 0 success, 1 runtime failure, 2 bad command line, 3 invalid configuration.
";

enum Command {
    Run,
    Monitor { json: bool },
    Status { json: bool },
    CheckConfig { file: Option<String> },
    Help,
    Version,
}

fn parse_args() -> Result<(String, Command), lexopt::Error> {
    use lexopt::prelude::*;
    let mut p = lexopt::Parser::from_env();
    let mut config = config_file::DEFAULT_PATH.to_owned();
    let mut command = None;
    let mut json = false;
    let mut file = None;
    while let Some(arg) = p.next()? {
        match arg {
            Short('c') | Long("config") => config = p.value()?.string()?,
            Short('h') | Long("help") => return Ok((config, Command::Help)),
            Short('V') | Long("version") => return Ok((config, Command::Version)),
            Long("json") if matches!(command.as_deref(), Some("monitor" | "status")) => json = true,
            Value(v) if command.is_none() => command = Some(v.string()?),
            Value(v) if command.as_deref() == Some("check-config") && file.is_none() => file = Some(v.string()?),
            _ => return Err(arg.unexpected()),
        }
    }
    let cmd = match command.as_deref() {
        Some("run") => Command::Run,
        Some("monitor") => Command::Monitor { json },
        Some("status") => Command::Status { json },
        Some("check-config") => Command::CheckConfig { file },
        Some(other) => return Err(lexopt::Error::Custom(format!("unknown command '{other}'").into())),
        None => return Err(lexopt::Error::Custom("a command is needed (see --help)".into())),
    };
    Ok((config, cmd))
}

fn check_config(path: &str) -> Exit {
    match config_file::load(path) {
        Ok(cfg) => {
            // `auto` is decided on the router (ubusd running or not): either backend may apply
            let checked = match cfg.main.backend {
                BackendOption::Auto => Ok(()),
                b => cfg.check_backend(b.resolve(false)),
            };
            if let Err(e) = checked {
                eprintln!("{}", e.in_file(path));
                return Exit::Config;
            }
            println!("{path}: ok, {} rule(s)", cfg.rules.len());
            for r in cfg.rules.iter() {
                let Some(v) = r.vlan else { continue };
                let dhcp = if r.dhcp.is_some() { "DHCP on" } else { "no DHCP; the VLAN device would be" };
                match (&r.bridge, &r.network) {
                    (Some(b), _) => println!(
                        "rule {}: VLAN {v} on {b} (vlan_filtering needed); {dhcp} the VLAN {v} device of {b} (e.g. {b}.{v})",
                        r.name
                    ),
                    (None, Some(n)) => println!(
                        "rule {}: VLAN {v} on network {n}'s bridge (vlan_filtering needed); {dhcp} netifd's l3_device of {n}",
                        r.name
                    ),
                    (None, None) => {}
                }
            }
            Exit::Ok
        }
        Err(e) => {
            eprintln!("{e}");
            Exit::Config
        }
    }
}

fn status(config: &str, json_out: bool) -> Exit {
    let state_file = match config_file::load(config) {
        Ok(c) => c.main.state_file.to_string(),
        Err(config_file::LoadError::Io(..)) => apwatch_core::config::Main::default().state_file.to_string(),
        Err(e) => {
            eprintln!("{e}");
            return Exit::Config;
        }
    };
    let text = match std::fs::read_to_string(&state_file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("apwatch is not running? {state_file}: {e}");
            return Exit::Runtime;
        }
    };
    let Some((pid, counters, aps)) = state::parse(&text) else {
        eprintln!("{state_file}: not an apwatch state file");
        return Exit::Runtime;
    };
    let alive = pid != 0 && std::path::Path::new(&format!("/proc/{pid}")).exists();
    if json_out {
        println!("{}", state::json(pid, alive, counters, &aps, &radios()).finish());
        return Exit::Ok;
    }
    if !alive {
        println!("apwatch (pid {pid}) is not running; last known state:");
    }
    println!("PHY    IFNAME       SSID                               RULE         BRIDGE          SINCE");
    let now = state::now_secs();
    for a in &aps {
        let since = if a.since == 0 { "-".to_owned() } else { format!("{}s ago", now.saturating_sub(a.since)) };
        let ssid = format!("\"{}\"", IwEscaped(&a.ssid));
        let rule = if a.rule.is_empty() { "-" } else { &a.rule };
        let bridge = match (a.bridge.as_str(), a.vlan) {
            ("", _) => "-".to_owned(),
            (b, Some(v)) => format!("{b} vlan {v}"),
            (b, None) => b.to_owned(),
        };
        println!("{:<6} {:<12} {:<34} {:<12} {:<15} {since}", a.phy, a.ifname, ssid, rule, bridge);
    }
    for r in radios() {
        println!("radio {r}");
    }
    Exit::Ok
}

fn main() -> ExitCode {
    let exit = match parse_args() {
        Err(e) => {
            eprintln!("apwatch: {e}\n(see apwatch --help)");
            Exit::Usage
        }
        Ok((_, Command::Help)) => {
            print!("{HELP}");
            Exit::Ok
        }
        Ok((_, Command::Version)) => {
            println!("apwatch {}", env!("CARGO_PKG_VERSION"));
            Exit::Ok
        }
        Ok((config, Command::Run)) => run::run(&config),
        Ok((_, Command::Monitor { json })) => monitor::monitor(json),
        Ok((config, Command::Status { json })) => status(&config, json),
        Ok((config, Command::CheckConfig { file })) => check_config(file.as_deref().unwrap_or(&config)),
    };
    ExitCode::from(exit as u8)
}
