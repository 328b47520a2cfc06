//! Starting the real modgate binary (`CARGO_BIN_EXE_modgate`).

use std::fs::{self, File};
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use super::tempdir::TempDir;

/// How long [`Gateway::start`] waits for the listeners.
pub const START_TIMEOUT: Duration = Duration::from_secs(20);
const POLL: Duration = Duration::from_millis(20);

/// The modgate binary built by cargo for this test run.
pub fn modgate_bin() -> &'static str {
    env!("CARGO_BIN_EXE_modgate")
}

/// A port that was free a moment ago on 127.0.0.1, for modgate to listen on.
///
/// Taken from below the kernel's ephemeral range: a port from `bind :0` is free again
/// once it is read, and any outgoing connection of a parallel test (to a gateway, to an
/// upstream) may get it as its source port before modgate binds it. Each test process
/// walks a stretch of a thousand ports from a point set by its process id, so two
/// running at once rarely ask for the same port at the same moment; one that is taken
/// is skipped.
pub fn free_port() -> u16 {
    static NEXT: OnceLock<AtomicU16> = OnceLock::new();
    let next = NEXT.get_or_init(|| AtomicU16::new((std::process::id() / 20 % 1000) as u16));
    let range = fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").unwrap_or_default();
    let mut bounds = range.split_whitespace().map(|n| n.parse::<u16>().ok());
    let low = bounds.next().flatten().unwrap_or(32768);
    let high = bounds.next().flatten().unwrap_or(60999);
    // Twenty stretches fit below the range on most systems, else above it; where neither
    // has room they overlap the range, and the race this avoids is back.
    let base = if low >= 21_024 {
        low - 20_000
    } else if high <= 45_535 {
        high + 1
    } else {
        1024
    };
    let stretch = base + (std::process::id() % 20) as u16 * 1000;
    for _ in 0..1000 {
        let port = stretch + next.fetch_add(1, Ordering::Relaxed) % 1000;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port in 127.0.0.1:{stretch}..{}", stretch + 1000)
}

/// The smallest useful config: `extra` top-level YAML (`server:`, `access:` …), one
/// plaintext listener on a free loopback port, and every module routed to
/// `upstream_url`.
pub fn one_pool_config(extra: &str, upstream_url: &str) -> String {
    format!(
        "{extra}listeners: [{{address: \"127.0.0.1:{}\"}}]\npools:\n  public: {{backends: [{{url: \"{upstream_url}\"}}]}}\nroutes:\n  - {{name: public, modules: [\"*\"], pools: [public]}}\n",
        free_port()
    )
}

/// Runs `modgate <args>` to completion (for `check`, `hash-key`, ...).
pub fn run_modgate(args: &[&str]) -> Output {
    run_modgate_with(args, &[], None)
}

/// Runs `modgate <args>` with extra environment variables and, if given,
/// `stdin` written to its standard input (closed afterwards; otherwise stdin is null).
pub fn run_modgate_with(args: &[&str], env: &[(&str, &str)], stdin: Option<&[u8]>) -> Output {
    let mut cmd = Command::new(modgate_bin());
    cmd.args(args)
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", modgate_bin()));
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().expect("stdin pipe");
        let input = input.to_vec();
        // Write from a thread so a child that does not read cannot block us.
        thread::spawn(move || {
            let _ = pipe.write_all(&input);
        });
    }
    child.wait_with_output().expect("wait for modgate")
}

/// The value of the first `address:` in the top-level `section:` block of a
/// YAML document (block or flow style), with `${VAR}` substituted.
/// Good enough for test configs; not a YAML parser.
pub fn config_address(yaml: &str, section: &str, env: &[(&str, &str)]) -> Option<String> {
    let key = format!("{section}:");
    let mut lines = yaml.lines();
    let rest = loop {
        let line = lines.next()?;
        if let Some(rest) = line.strip_prefix(&key) {
            break rest;
        }
    };
    let rest = strip_comment(rest).trim();
    if !rest.is_empty() {
        // Flow style: `listeners: [{address: "127.0.0.1:1"}]`.
        let i = rest.find("address:")?;
        let value = rest[i + "address:".len()..]
            .split([',', '}', ']'])
            .next()?
            .trim();
        return Some(substitute(unquote(value), env));
    }
    for line in lines {
        let code = strip_comment(line);
        if code.trim().is_empty() {
            continue;
        }
        let indented = code.starts_with(' ') || code.starts_with('\t');
        if !indented && !code.starts_with('-') {
            break; // next top-level key
        }
        let item = code.trim_start().trim_start_matches(['-', ' ']);
        if let Some(value) = item.strip_prefix("address:") {
            return Some(substitute(unquote(value.trim()), env));
        }
    }
    None
}

fn strip_comment(line: &str) -> &str {
    // A `#` starts a comment at the line start or after whitespace, outside quotes.
    let mut quote = None;
    let mut prev_space = true;
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '#') if prev_space => return &line[..i],
            _ => {}
        }
        prev_space = c == ' ' || c == '\t';
    }
    line
}

fn unquote(v: &str) -> &str {
    let v = v.trim();
    for q in ['"', '\''] {
        if let Some(inner) = v.strip_prefix(q).and_then(|s| s.strip_suffix(q)) {
            return inner;
        }
    }
    v
}

fn substitute(value: &str, env: &[(&str, &str)]) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        let Some(len) = rest[start..].find('}') else {
            break;
        };
        let name = &rest[start + 2..start + len];
        out.push_str(&rest[..start]);
        let val = env
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_owned())
            .or_else(|| std::env::var(name).ok())
            .unwrap_or_default();
        out.push_str(&val);
        rest = &rest[start + len + 1..];
    }
    out.push_str(rest);
    out
}

/// The address a client connects to for a listen address: `0.0.0.0` → 127.0.0.1,
/// `[::]` → `[::1]`, host names resolved.
pub fn connect_addr(listen: &str) -> SocketAddr {
    let mut addr = listen
        .parse::<SocketAddr>()
        .ok()
        .or_else(|| listen.to_socket_addrs().ok().and_then(|mut a| a.next()))
        .unwrap_or_else(|| panic!("cannot understand listen address {listen:?}"));
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => addr.set_ip(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        IpAddr::V6(ip) if ip.is_unspecified() => addr.set_ip(IpAddr::V6(Ipv6Addr::LOCALHOST)),
        _ => {}
    }
    addr
}

/// A running modgate process; killed (SIGKILL) on drop. If the test is
/// panicking, drop prints the process's log to stderr.
pub struct Gateway {
    child: Child,
    dir: Arc<TempDir>,
    config: PathBuf,
    log_path: PathBuf,
    /// The first listener (`listeners[0].address`; unspecified IPs mapped to loopback).
    pub addr: SocketAddr,
    /// `admin.address`, if configured.
    pub admin: Option<SocketAddr>,
    /// Set once a panic message already carried the log.
    log_shown: bool,
}

impl Gateway {
    /// Writes `modgate.yaml` into a temp dir, runs `modgate run -c <file>` and
    /// waits until the first listener (and the admin address, if any) accepts
    /// TCP connections. Panics with the log if it exits or times out.
    pub fn start(config_yaml: &str) -> Gateway {
        Gateway::start_with_env(config_yaml, &[])
    }

    /// [`Gateway::start`] with extra environment variables for the process.
    pub fn start_with_env(config_yaml: &str, env: &[(&str, &str)]) -> Gateway {
        let mut gw = Gateway::spawn(config_yaml, &[], env);
        gw.wait_ready();
        gw
    }

    /// Starts `modgate run -c <file> <extra_args>` without waiting for it.
    /// Use [`Gateway::wait_ready`] or [`Gateway::wait_exit`] next.
    pub fn spawn(config_yaml: &str, extra_args: &[&str], env: &[(&str, &str)]) -> Gateway {
        let dir = Arc::new(TempDir::new("modgate-gw"));
        let config = dir.join("modgate.yaml");
        fs::write(&config, config_yaml).expect("write modgate.yaml");
        Gateway::spawn_in(dir, config, config_yaml, extra_args, env)
    }

    fn spawn_in(
        dir: Arc<TempDir>,
        config: PathBuf,
        config_yaml: &str,
        extra_args: &[&str],
        env: &[(&str, &str)],
    ) -> Gateway {
        let listen = config_address(config_yaml, "listeners", env)
            .expect("the config has no listeners[0].address");
        let addr = connect_addr(&listen);
        let admin = config_address(config_yaml, "admin", env).map(|a| connect_addr(&a));

        let mut log_path = dir.join("modgate.log");
        let mut n = 1;
        while log_path.exists() {
            log_path = dir.join(format!("modgate-{n}.log"));
            n += 1;
        }
        let log = File::create(&log_path).expect("create log file");
        let log_err = log.try_clone().expect("clone log file");
        let child = Command::new(modgate_bin())
            .arg("run")
            .arg("-c")
            .arg(&config)
            .args(extra_args)
            // The tests' own RUST_LOG would override the log level the config sets.
            .env_remove("RUST_LOG")
            .envs(env.iter().copied())
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", modgate_bin()));
        Gateway {
            child,
            dir,
            config,
            log_path,
            addr,
            admin,
            log_shown: false,
        }
    }

    /// Starts a second process on the same config file with `--upgrade`
    /// (zero-downtime upgrade), logging to its own file in the same dir.
    /// Does not wait: the old process still holds the listeners.
    pub fn spawn_upgrade(&self, env: &[(&str, &str)]) -> Gateway {
        let yaml = fs::read_to_string(&self.config).expect("read config");
        Gateway::spawn_in(
            Arc::clone(&self.dir),
            self.config.clone(),
            &yaml,
            &["--upgrade"],
            env,
        )
    }

    /// Waits (up to [`START_TIMEOUT`]) until [`Gateway::addr`] and
    /// [`Gateway::admin`] accept TCP connections. Panics with the log if the
    /// process exits first or the time runs out.
    pub fn wait_ready(&mut self) {
        let deadline = Instant::now() + START_TIMEOUT;
        let mut targets: Vec<SocketAddr> = std::iter::once(self.addr).chain(self.admin).collect();
        while !targets.is_empty() {
            if let Ok(Some(status)) = self.child.try_wait() {
                self.log_shown = true;
                panic!(
                    "modgate exited ({status}) before listening on {targets:?}\n--- log ---\n{}",
                    self.log()
                );
            }
            targets.retain(|a| TcpStream::connect_timeout(a, Duration::from_millis(200)).is_err());
            if targets.is_empty() {
                break;
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                self.log_shown = true;
                panic!(
                    "modgate did not listen on {targets:?} within {START_TIMEOUT:?}\n--- log ---\n{}",
                    self.log()
                );
            }
            thread::sleep(POLL);
        }
    }

    /// Waits up to `timeout` for the process to exit.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(POLL);
        }
    }

    /// The exit status if the process has exited.
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// `http://<addr>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The temp dir holding the config and logs (removed when the last
    /// Gateway using it is dropped).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn config_path(&self) -> &Path {
        &self.config
    }

    /// Replaces the config atomically (write a temp file, then rename).
    pub fn write_config(&self, yaml: &str) {
        let tmp = self.dir.join(".modgate.yaml.tmp");
        fs::write(&tmp, yaml).expect("write temp config");
        fs::rename(&tmp, &self.config).expect("rename config into place");
    }

    /// Everything the process wrote to stdout and stderr so far.
    pub fn log(&self) -> String {
        fs::read(&self.log_path)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// Polls the log (every 20 ms) until it contains `needle`; false on timeout.
    pub fn wait_for_log(&self, needle: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if self.log().contains(needle) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            thread::sleep(POLL);
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends a signal by name (`"HUP"`, `"TERM"`, `"QUIT"`, ...) with `kill`.
    pub fn signal(&self, sig: &str) {
        let status = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.pid().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{sig} {} failed", self.pid());
    }

    /// Peak resident set size (VmHWM) of the process, in KiB.
    pub fn rss_peak_kib(&self) -> u64 {
        proc_status_kib(self.pid(), "VmHWM:")
    }

    /// Current resident set size (VmRSS) of the process, in KiB.
    pub fn rss_kib(&self) -> u64 {
        proc_status_kib(self.pid(), "VmRSS:")
    }
}

fn proc_status_kib(pid: u32, field: &str) -> u64 {
    let status = fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_else(|e| panic!("read /proc/{pid}/status: {e}"));
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if thread::panicking() && !self.log_shown {
            let log = self.log();
            let tail = match log.char_indices().nth_back(20_000) {
                Some((i, _)) => &log[i..],
                None => &log,
            };
            eprintln!(
                "--- modgate log ({}) ---\n{tail}\n--- end of modgate log ---",
                self.log_path.display()
            );
        }
    }
}
