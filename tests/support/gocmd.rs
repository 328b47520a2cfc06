//! Running the real `go` command in an isolated environment.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use super::tempdir::TempDir;

/// Far beyond a module download or build on loopback, far below CI's limit.
pub const GO_TIMEOUT: Duration = Duration::from_secs(300);

/// An isolated environment for the go command: its own HOME, GOPATH,
/// GOMODCACHE and GOCACHE in a temp dir, no inherited GO* variables, and
/// checksum checks off. Defaults (change them with [`GoEnv::set`]):
/// `GOPROXY=<goproxy>`, `GOSUMDB=off`, `GONOSUMDB=*`, `GONOSUMCHECK=1`,
/// `GOFLAGS=-mod=mod`, `GOINSECURE=*`, `GO111MODULE=on`, `CGO_ENABLED=0`,
/// `GOTOOLCHAIN=local`, `GOENV=off`, `GOTELEMETRY=off`; `PATH` (and `TMPDIR`,
/// if set) inherited.
pub struct GoEnv {
    dir: TempDir,
    vars: Vec<(String, String)>,
}

impl GoEnv {
    pub fn new(goproxy: &str) -> GoEnv {
        let dir = TempDir::new("modgate-go");
        for sub in ["home", "gopath", "gopath/pkg/mod", "gocache", "work"] {
            fs::create_dir_all(dir.join(sub)).expect("create go env dirs");
        }
        let p = |sub: &str| dir.join(sub).to_string_lossy().into_owned();
        let mut vars: Vec<(String, String)> = vec![
            ("GOPROXY".into(), goproxy.into()),
            ("GOSUMDB".into(), "off".into()),
            ("GONOSUMDB".into(), "*".into()),
            ("GONOSUMCHECK".into(), "1".into()),
            ("GOFLAGS".into(), "-mod=mod".into()),
            ("GOINSECURE".into(), "*".into()),
            ("GO111MODULE".into(), "on".into()),
            ("CGO_ENABLED".into(), "0".into()),
            ("GOTOOLCHAIN".into(), "local".into()),
            ("GOENV".into(), "off".into()),
            ("GOTELEMETRY".into(), "off".into()),
            ("HOME".into(), p("home")),
            ("GOPATH".into(), p("gopath")),
            ("GOMODCACHE".into(), p("gopath/pkg/mod")),
            ("GOCACHE".into(), p("gocache")),
        ];
        for inherited in ["PATH", "TMPDIR"] {
            if let Ok(v) = std::env::var(inherited) {
                vars.push((inherited.into(), v));
            }
        }
        GoEnv { dir, vars }
    }

    /// Sets (or replaces) a variable; an empty value is passed as empty.
    pub fn set(&mut self, key: &str, value: &str) -> &mut GoEnv {
        self.vars.retain(|(k, _)| k != key);
        self.vars.push((key.into(), value.into()));
        self
    }

    /// Removes a variable.
    pub fn unset(&mut self, key: &str) -> &mut GoEnv {
        self.vars.retain(|(k, _)| k != key);
        self
    }

    pub fn var(&self, key: &str) -> Option<&str> {
        self.vars
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn home(&self) -> PathBuf {
        self.dir.join("home")
    }

    pub fn modcache(&self) -> PathBuf {
        self.dir.join("gopath/pkg/mod")
    }

    /// An empty directory, the default working directory of [`GoEnv::command`].
    pub fn work_dir(&self) -> PathBuf {
        self.dir.join("work")
    }

    /// Writes `$HOME/.netrc` (mode 0600) with one line per `(machine, login, password)`.
    /// The go command sends these credentials only over HTTPS, matching the host
    /// name without port.
    pub fn write_netrc(&self, entries: &[(&str, &str, &str)]) {
        use std::os::unix::fs::PermissionsExt;
        let mut text = String::new();
        for (machine, login, password) in entries {
            text.push_str(&format!(
                "machine {machine} login {login} password {password}\n"
            ));
        }
        let path = self.home().join(".netrc");
        fs::write(&path, text).expect("write .netrc");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).expect("chmod .netrc");
    }

    /// `go <args>` with this environment (and nothing else), in [`GoEnv::work_dir`].
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("go");
        cmd.args(args)
            .env_clear()
            .envs(self.vars.iter().map(|(k, v)| (k, v)))
            .current_dir(self.work_dir());
        cmd
    }

    /// Runs `go <args>` in `dir` and returns its output. A go command that hangs (on a
    /// gateway that never answers, say) is killed after [`GO_TIMEOUT`] and the test
    /// fails naming it, rather than holding the whole run until CI gives up.
    pub fn run_in(&self, dir: &Path, args: &[&str]) -> Output {
        let mut child = self
            .command(args)
            .current_dir(dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run the go command");
        let drain = |pipe: Option<Box<dyn Read + Send>>| {
            thread::spawn(move || {
                let mut bytes = Vec::new();
                if let Some(mut pipe) = pipe {
                    let _ = pipe.read_to_end(&mut bytes);
                }
                bytes
            })
        };
        let stdout = drain(
            child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        );
        let stderr = drain(
            child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        );
        let deadline = Instant::now() + GO_TIMEOUT;
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait for the go command") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("go {} did not finish within {GO_TIMEOUT:?}", args.join(" "));
            }
            thread::sleep(Duration::from_millis(20));
        };
        Output {
            status,
            stdout: stdout.join().expect("stdout reader"),
            stderr: stderr.join().expect("stderr reader"),
        }
    }

    /// Runs `go <args>` in [`GoEnv::work_dir`] and returns its output.
    pub fn run(&self, args: &[&str]) -> Output {
        self.run_in(&self.work_dir(), args)
    }

    /// Runs `go <args>` in `dir`; panics with stdout and stderr unless it succeeds.
    /// Returns stdout.
    pub fn run_ok_in(&self, dir: &Path, args: &[&str]) -> String {
        let out = self.run_in(dir, args);
        assert!(
            out.status.success(),
            "go {} failed ({})\nGOPROXY={}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            args.join(" "),
            out.status,
            self.var("GOPROXY").unwrap_or(""),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// [`GoEnv::run_ok_in`] in [`GoEnv::work_dir`].
    pub fn run_ok(&self, args: &[&str]) -> String {
        self.run_ok_in(&self.work_dir(), args)
    }
}
