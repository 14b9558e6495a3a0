//! apwatch: puts AP netdevs into the right bridge and serves DHCP there, driven by nl80211
//! START_AP (Linux ≥ 6.3) and link events. `main` parses the command line and dispatches.

// Tests may unwrap: a panic there is a failing test.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]
// The C `main` below is the entry, not std's runtime start (see it); tests keep the harness's.
#![cfg_attr(not(test), no_main)]

use apwatch::{config_file, errln, monitor, out, outln, radios, run, state, Exit};

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

enum Command<'a> {
    Run,
    Monitor { json: bool },
    Status { json: bool },
    CheckConfig { file: Option<&'a str> },
    Help,
    Version,
}

/// One command-line argument: what lexopt (which this replaced) made of it. `Long` is the
/// option with its dashes (`--config`), without an `=value`.
enum Arg<'a> {
    Short(char),
    Long(&'a str),
    Value(&'a str),
}

/// The command line, read as lexopt read it (the same forms and messages, without its code in
/// the binary): `-c PATH`, `-cPATH`, `-c=PATH`, `--config PATH`, `--config=PATH`, short flags
/// together (`-hV`), `--` ends the options, `-` is a value. Each argument is borrowed, not
/// copied: the words are slices of the libc's `argv`.
struct Args<'a> {
    rest: std::slice::Iter<'a, &'a [u8]>,
    /// The rest of a cluster of short options (`-hV`: `V`).
    shorts: &'a str,
    /// A long option's `=value`, with the option.
    long_value: Option<(&'a str, &'a str)>,
    only_values: bool,
}

/// An argument in a message (lexopt: Debug; here escaped as SSIDs are, no Unicode tables).
fn quoted(v: &[u8]) -> String {
    format!("\"{}\"", IwEscaped(v))
}

impl<'a> Args<'a> {
    fn new(args: &'a [&'a [u8]]) -> Self {
        Args { rest: args.iter(), shorts: "", long_value: None, only_values: false }
    }

    fn text(a: &'a [u8]) -> Result<&'a str, String> {
        std::str::from_utf8(a).map_err(|_| format!("argument is invalid unicode: {}", quoted(a)))
    }

    fn next(&mut self) -> Result<Option<Arg<'a>>, String> {
        if let Some((option, value)) = self.long_value.take() {
            return Err(format!("unexpected argument for option '{option}': {}", quoted(value.as_bytes())));
        }
        if let Some(c) = self.shorts.chars().next() {
            self.shorts = self.shorts.get(c.len_utf8()..).unwrap_or_default();
            return Ok(Some(Arg::Short(c)));
        }
        loop {
            let Some(a) = self.rest.next() else { return Ok(None) };
            let a = Self::text(a)?;
            if self.only_values {
                return Ok(Some(Arg::Value(a)));
            }
            if a == "--" {
                self.only_values = true;
            } else if a.starts_with("--") {
                let name = match apwatch_core::text::cut(a, b'=') {
                    Some((name, value)) => {
                        self.long_value = Some((name, value));
                        name
                    }
                    None => a,
                };
                return Ok(Some(Arg::Long(name)));
            } else if a.len() > 1 && a.starts_with('-') {
                self.shorts = a.get(1..).unwrap_or_default();
                return self.next();
            } else {
                return Ok(Some(Arg::Value(a)));
            }
        }
    }

    /// The value of the option just read (`option`, for the message).
    fn value(&mut self, option: &str) -> Result<&'a str, String> {
        if let Some((_, v)) = self.long_value.take() {
            return Ok(v);
        }
        let r = std::mem::take(&mut self.shorts);
        if !r.is_empty() {
            return Ok(r.strip_prefix('=').unwrap_or(r));
        }
        match self.rest.next() {
            Some(a) => Self::text(a),
            None => Err(format!("missing argument for option '{option}'")),
        }
    }
}

/// An option, whichever of its forms was given.
#[derive(Clone, Copy)]
enum Opt {
    Config,
    Help,
    Version,
    Json,
}

/// The long options, looked up in one loop (a `match` on strings is a chain of comparisons).
const LONG: [(&[u8], Opt); 4] =
    [(b"--config", Opt::Config), (b"--help", Opt::Help), (b"--version", Opt::Version), (b"--json", Opt::Json)];

/// A command, by its name.
#[derive(Clone, Copy, PartialEq)]
enum Name {
    Run,
    Monitor,
    Status,
    CheckConfig,
}

/// The commands' names, looked up as the options are.
const COMMANDS: [(&[u8], Name); 4] =
    [(b"run", Name::Run), (b"monitor", Name::Monitor), (b"status", Name::Status), (b"check-config", Name::CheckConfig)];

fn parse_args<'a>(args: &'a [&'a [u8]]) -> Result<(&'a str, Command<'a>), String> {
    let mut p = Args::new(args);
    let mut config = config_file::DEFAULT_PATH;
    let mut command: Option<&str> = None;
    let mut json = false;
    let mut file = None;
    let name = |c: Option<&str>| c.and_then(|c| apwatch_core::keyword::lookup(&COMMANDS, c.as_bytes()));
    while let Some(arg) = p.next()? {
        let opt = match arg {
            Arg::Short('c') => Some(Opt::Config),
            Arg::Short('h') => Some(Opt::Help),
            Arg::Short('V') => Some(Opt::Version),
            Arg::Short(_) | Arg::Value(_) => None,
            Arg::Long(l) => apwatch_core::keyword::lookup(&LONG, l.as_bytes()),
        };
        match (opt, arg) {
            (Some(Opt::Config), Arg::Short(_)) => config = p.value("-c")?,
            (Some(Opt::Config), _) => config = p.value("--config")?,
            (Some(Opt::Help), _) => return Ok((config, Command::Help)),
            (Some(Opt::Version), _) => return Ok((config, Command::Version)),
            (Some(Opt::Json), _) if matches!(name(command), Some(Name::Monitor | Name::Status)) => json = true,
            (_, Arg::Value(v)) if command.is_none() => command = Some(v),
            (_, Arg::Value(v)) if name(command) == Some(Name::CheckConfig) && file.is_none() => file = Some(v),
            (_, Arg::Short(c)) => return Err(format!("invalid option '-{c}'")),
            (_, Arg::Long(l)) => return Err(format!("invalid option '{l}'")),
            (_, Arg::Value(v)) => return Err(format!("unexpected argument {}", quoted(v.as_bytes()))),
        }
    }
    let cmd = match (name(command), command) {
        (Some(Name::Run), _) => Command::Run,
        (Some(Name::Monitor), _) => Command::Monitor { json },
        (Some(Name::Status), _) => Command::Status { json },
        (Some(Name::CheckConfig), _) => Command::CheckConfig { file },
        (None, Some(other)) => return Err(format!("unknown command '{other}'")),
        (None, None) => return Err("a command is needed (see --help)".to_owned()),
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
                errln!("{}", e.in_file(path));
                return Exit::Config;
            }
            outln!("{path}: ok, {} rule(s)", cfg.rules.len());
            for r in cfg.rules.iter() {
                let Some(v) = r.vlan else { continue };
                let dhcp = if r.dhcp.is_some() { "DHCP on" } else { "no DHCP; the VLAN device would be" };
                match (&r.bridge, &r.network) {
                    (Some(b), _) => outln!(
                        "rule {}: VLAN {v} on {b} (vlan_filtering needed); {dhcp} the VLAN {v} device of {b} (e.g. {b}.{v})",
                        r.name
                    ),
                    (None, Some(n)) => outln!(
                        "rule {}: VLAN {v} on network {n}'s bridge (vlan_filtering needed); {dhcp} netifd's l3_device of {n}",
                        r.name
                    ),
                    (None, None) => {}
                }
            }
            Exit::Ok
        }
        Err(e) => {
            errln!("{e}");
            Exit::Config
        }
    }
}

fn status(config: &str, json_out: bool) -> Exit {
    let state_file = match config_file::load(config) {
        Ok(c) => c.main.state_file.to_string(),
        Err(config_file::LoadError::Io(..)) => apwatch_core::config::Main::default().state_file.to_string(),
        Err(e) => {
            errln!("{e}");
            return Exit::Config;
        }
    };
    let read = apwatch::files::read(std::path::Path::new(&state_file));
    let read = read.and_then(|b| String::from_utf8(b).map_err(|_| std::io::ErrorKind::InvalidData.into()));
    let text = match read {
        Ok(t) => t,
        Err(e) => {
            errln!("apwatch is not running? {state_file}: {}", apwatch::errno::Why(&e));
            return Exit::Runtime;
        }
    };
    let Some((pid, counters, aps)) = state::parse(&text) else {
        errln!("{state_file}: not an apwatch state file");
        return Exit::Runtime;
    };
    let alive = pid != 0 && apwatch::files::exists(std::path::Path::new(&format!("/proc/{pid}")));
    if json_out {
        outln!("{}", state::json(pid, alive, counters, &aps, &radios()).finish());
        return Exit::Ok;
    }
    if !alive {
        outln!("apwatch (pid {pid}) is not running; last known state:");
    }
    outln!("PHY    IFNAME       SSID                               RULE         BRIDGE          SINCE");
    let now = state::now_secs();
    for a in &aps {
        let since = if a.since == 0 { "-".to_owned() } else { format!("{}s ago", now.saturating_sub(a.since)) };
        let ssid = format!("\"{}\"", IwEscaped(&a.ssid));
        let rule = if a.rule.is_empty() { "-" } else { a.rule };
        let bridge = match (a.bridge, a.vlan) {
            ("", _) => "-".to_owned(),
            (b, Some(v)) => format!("{b} vlan {v}"),
            (b, None) => b.to_owned(),
        };
        outln!("{:<6} {:<12} {:<34} {:<12} {:<15} {since}", a.phy, a.ifname, ssid, rule, bridge);
    }
    for r in radios() {
        outln!("radio {r}");
    }
    Exit::Ok
}

fn dispatch(args: &[&[u8]]) -> Exit {
    match parse_args(args) {
        Err(e) => {
            errln!("apwatch: {e}\n(see apwatch --help)");
            Exit::Usage
        }
        Ok((_, Command::Help)) => {
            let _ = out::put(out::To::Out, HELP.as_bytes());
            Exit::Ok
        }
        Ok((_, Command::Version)) => {
            outln!("apwatch {}", env!("CARGO_PKG_VERSION"));
            Exit::Ok
        }
        Ok((config, Command::Run)) => run::run(config),
        Ok((_, Command::Monitor { json })) => monitor::monitor(json),
        Ok((config, Command::Status { json })) => status(config, json),
        Ok((config, Command::CheckConfig { file })) => check_config(file.unwrap_or(config)),
    }
}

/// The process entry, called by the libc with the command line. std's runtime start (the
/// `fn main` entry) is not used: what it sets up is either done here (SIGPIPE ignored, so a
/// closed socket or pipe is an EPIPE and not the end; descriptors 0-2 kept from being reused
/// by a socket, so a log line cannot land in one) or not needed by apwatch (the main thread's
/// name and stack guard for panic messages, which an immediate-abort build does not print; the
/// flush of std's stdout at exit, which apwatch does not use).
#[cfg(not(test))]
#[unsafe(no_mangle)]
extern "C" fn main(argc: std::ffi::c_int, argv: *const *const std::ffi::c_char) -> std::ffi::c_int {
    // SAFETY: plain libc calls on no memory of ours.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    for fd in 0..3 {
        // SAFETY: as above; the /dev/null opened for a closed one is meant to stay open.
        if unsafe { libc::fcntl(fd, libc::F_GETFD) } == -1 {
            unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDWR) };
        }
    }
    let n = usize::try_from(argc).unwrap_or(0);
    let args: Vec<&[u8]> = (1..n)
        .map(|i| {
            // SAFETY: the libc passes `argc` valid NUL-terminated strings in `argv`, which stay
            // for the life of the process.
            unsafe { std::ffi::CStr::from_ptr(*argv.add(i)) }.to_bytes()
        })
        .collect();
    dispatch(&args) as std::ffi::c_int
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispatch_runs_the_command() {
        let run = |v: &[&str]| dispatch(&v.iter().map(|a| a.as_bytes()).collect::<Vec<_>>());
        assert_eq!(run(&["--version"]), Exit::Ok);
        assert_eq!(run(&["bogus"]), Exit::Usage);
        assert_eq!(run(&["check-config", "../tests/data/config/example.conf"]), Exit::Ok);
        assert_eq!(run(&["check-config", "../tests/data/config/bad-line.conf"]), Exit::Config);
    }

    fn parse(args: &[&str]) -> Result<(String, String), String> {
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        let (config, cmd) = parse_args(&args)?;
        let cmd = match cmd {
            Command::Run => "run".to_owned(),
            Command::Monitor { json } => format!("monitor json={json}"),
            Command::Status { json } => format!("status json={json}"),
            Command::CheckConfig { file } => format!("check-config {file:?}"),
            Command::Help => "help".to_owned(),
            Command::Version => "version".to_owned(),
        };
        Ok((config.to_owned(), cmd))
    }

    fn ok(config: &str, cmd: &str) -> Result<(String, String), String> {
        Ok((config.to_owned(), cmd.to_owned()))
    }

    #[test]
    fn the_command_line_as_lexopt_read_it() {
        let def = config_file::DEFAULT_PATH;
        assert_eq!(parse(&["run"]), ok(def, "run"));
        for form in [&["-c", "/x", "run"][..], &["-c/x", "run"], &["-c=/x", "run"], &["--config", "/x", "run"]] {
            assert_eq!(parse(form), ok("/x", "run"), "{form:?}");
        }
        assert_eq!(parse(&["run", "--config=/x"]), ok("/x", "run"));
        assert_eq!(parse(&["-c", "-", "status", "--json"]), ok("-", "status json=true"));
        assert_eq!(parse(&["monitor"]), ok(def, "monitor json=false"));
        assert_eq!(parse(&["check-config", "f.conf"]), ok(def, "check-config Some(\"f.conf\")"));
        assert_eq!(parse(&["check-config", "--", "-f"]), ok(def, "check-config Some(\"-f\")"));
        assert_eq!(parse(&["-h", "bogus"]), ok(def, "help"));
        assert_eq!(parse(&["-Vh"]), ok(def, "version"));
        assert_eq!(parse(&["--help=x"]), ok(def, "help"));
        assert_eq!(parse(&["run", "--version"]), ok(def, "version"));

        let err = |args: &[&str]| parse(args).unwrap_err();
        assert_eq!(err(&[]), "a command is needed (see --help)");
        assert_eq!(err(&["start"]), "unknown command 'start'");
        assert_eq!(err(&["run", "--json"]), "invalid option '--json'");
        assert_eq!(err(&["-x", "run"]), "invalid option '-x'");
        assert_eq!(err(&["run", "-cx", "-q"]), "invalid option '-q'");
        assert_eq!(err(&["run", "extra"]), "unexpected argument \"extra\"");
        assert_eq!(err(&["check-config", "a", "b"]), "unexpected argument \"b\"");
        assert_eq!(err(&["status", "--json=yes"]), "unexpected argument for option '--json': \"yes\"");
        assert_eq!(err(&["run", "-c"]), "missing argument for option '-c'");
        assert_eq!(err(&["run", "--config"]), "missing argument for option '--config'");
        assert_eq!(parse_args(&[b"\xff"]).err().unwrap(), "argument is invalid unicode: \"\\xff\"");
    }
}
