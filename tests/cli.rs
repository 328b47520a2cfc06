//! The command line: `check`, `hash-key`, `cert dev`, `--version`, `--help`.

mod support;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use support::gateway::modgate_bin;
use support::{run_modgate, run_modgate_with, TempDir};

/// sha256("foo").
const FOO_SHA256: &str = "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae";

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `modgate check -c <dir>/<name>` on `yaml`; returns the output and the file's path.
fn check_text(dir: &TempDir, name: &str, yaml: &str, env: &[(&str, &str)]) -> (Output, String) {
    let path = dir.join(name);
    fs::write(&path, yaml).expect("write config");
    let path = path.to_string_lossy().into_owned();
    (run_modgate_with(&["check", "-c", &path], env, None), path)
}

const GOOD: &str = "\
listeners:
  - address: \"127.0.0.1:8080\"
pools:
  public:
    backends:
      - url: http://127.0.0.1:3000
routes:
  - {name: public, modules: [\"*\"], pools: [public]}
";

#[test]
fn check_of_a_good_file_prints_ok() {
    let dir = TempDir::new("modgate-cli");
    let (out, _) = check_text(&dir, "good.yaml", GOOD, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "ok\n");
    assert_eq!(stderr(&out), "");
}

#[test]
fn check_reports_every_problem_with_file_line_and_column() {
    let dir = TempDir::new("modgate-cli");
    let yaml = "\
listeners:
  - address: \"127.0.0.1:8080\"
access:
  default: deny
  rules:
    - allow: [\"127.0.0.0/8\", \"10.0.0.0/33\"]
pools:
  public:
    backends:
      - url: http://127.0.0.1:3000
routes:
  - name: public
    modules: [\"*\"]
    pools: [public, nosuch]
";
    let (out, path) = check_text(&dir, "bad.yaml", yaml, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert_eq!(stdout(&out), "", "nothing on stdout, and no ok");
    let text = stderr(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    // Line 6, column 30: the opening quote of "10.0.0.0/33".
    let cidr = format!("{path}:6:30: ");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(&cidr) && l.contains("\"10.0.0.0/33\"")),
        "no {cidr}... in\n{text}"
    );
    // Line 14, column 21: `nosuch` in `pools: [public, nosuch]`.
    let pool = format!("{path}:14:21: ");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(&pool) && l.contains("\"nosuch\"")),
        "no {pool}... in\n{text}"
    );
}

#[test]
fn check_reports_an_unknown_field_with_line_and_column() {
    let dir = TempDir::new("modgate-cli");
    let yaml = GOOD.replace(
        "      - url: http://127.0.0.1:3000\n",
        "      - url: http://127.0.0.1:3000\n        wieght: 2\n",
    );
    let (out, path) = check_text(&dir, "unknown.yaml", &yaml, &[]);
    assert_eq!(out.status.code(), Some(1));
    let text = stderr(&out);
    // Line 7, column 9: where `wieght` starts.
    let at = format!("{path}:7:9: ");
    assert!(
        text.starts_with(&at) && text.contains("wieght"),
        "no {at}... in\n{text}"
    );
    assert_eq!(text.trim_end().lines().count(), 1, "{text}");
}

#[test]
fn check_names_a_missing_environment_variable() {
    let dir = TempDir::new("modgate-cli");
    let var = "MODGATE_CLI_TEST_UNSET_TOKEN";
    assert!(
        std::env::var(var).is_err(),
        "{var} is set in this environment"
    );
    let yaml = GOOD.replace(
        "      - url: http://127.0.0.1:3000\n",
        &format!(
            "      - url: http://127.0.0.1:3000\n    headers:\n      Authorization: \"Bearer ${{{var}}}\"\n"
        ),
    );
    let (out, path) = check_text(&dir, "env.yaml", &yaml, &[]);
    assert_eq!(out.status.code(), Some(1));
    let text = stderr(&out);
    // Line 8, column 22: the header's value.
    let at = format!("{path}:8:22: ");
    assert!(
        text.starts_with(&at) && text.contains(var),
        "no {at}...{var}... in\n{text}"
    );

    // With the variable set, the same file is fine.
    let (out, _) = check_text(&dir, "env.yaml", &yaml, &[(var, "s3cret")]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "ok\n");
    assert!(!stderr(&out).contains("s3cret"));
}

#[test]
fn check_of_a_missing_file_says_it_cannot_read_it() {
    let dir = TempDir::new("modgate-cli");
    let path = dir.join("nothere.yaml").to_string_lossy().into_owned();
    let out = run_modgate(&["check", "-c", &path]);
    assert_eq!(out.status.code(), Some(1));
    let text = stderr(&out);
    assert!(text.starts_with(&format!("{path}: ")), "{text}");
    assert!(text.contains("cannot read"), "{text}");
}

#[test]
fn hash_key_from_the_argument_and_from_stdin() {
    let out = run_modgate(&["hash-key", "foo"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), format!("{FOO_SHA256}\n"));

    for input in [&b"foo"[..], b"foo\n", b"foo\r\n"] {
        let out = run_modgate_with(&["hash-key"], &[], Some(input));
        assert!(out.status.success(), "{input:?}: {}", stderr(&out));
        assert_eq!(stdout(&out), format!("{FOO_SHA256}\n"), "{input:?}");
    }

    // An empty key is refused, not hashed.
    let out = run_modgate_with(&["hash-key"], &[], Some(b"\n"));
    assert!(!out.status.success());
    assert_eq!(stdout(&out), "");
}

#[test]
fn version_and_help() {
    let out = run_modgate(&["--version"]);
    assert!(out.status.success());
    assert_eq!(
        stdout(&out),
        format!("modgate {}\n", env!("CARGO_PKG_VERSION"))
    );

    for (sub, mentions) in [
        ("run", "--config"),
        ("check", "--config"),
        ("hash-key", "KEY"),
    ] {
        let out = run_modgate(&[sub, "--help"]);
        assert!(out.status.success(), "{sub} --help: {}", stderr(&out));
        let text = stdout(&out);
        assert!(text.contains("Usage: modgate"), "{sub}: {text}");
        assert!(text.contains(mentions), "{sub}: {text}");
    }
    let out = run_modgate(&["run", "--help"]);
    assert!(stdout(&out).contains("--upgrade"));
}

/// Every `*.yaml` / `*.yml` below `dir`, sorted.
fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            yaml_files(&path, out);
        } else if path
            .extension()
            .is_some_and(|ext| ext == "yaml" || ext == "yml")
        {
            out.push(path);
        }
    }
}

/// Copies the tree at `from` to `to` (regular files only).
fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("create dir");
    for entry in fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("dir entry");
        let target = to.join(entry.file_name());
        // The default config's store (filled by scripts/start.sh) is not config.
        if entry.file_name() == "cache" {
            continue;
        }
        if entry.path().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).expect("copy file");
        }
    }
}

/// The `${NAME}`s a file refers to.
fn env_names(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else { break };
        names.push(after[..end].to_string());
        rest = &after[end + 1..];
    }
    names.sort();
    names.dedup();
    names
}

/// The repository's own configurations pass `modgate check`. They are checked in a
/// copy of `conf/` next to a `certs/` made by `modgate cert dev` (certificates are
/// never committed, so a fresh checkout has none), with a placeholder value for
/// every `${NAME}` a file uses (secrets come from the environment).
#[test]
fn the_repository_configs_pass_check() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let conf = repo.join("conf");
    assert!(
        conf.join("modgate.yaml").is_file(),
        "{} is missing",
        conf.join("modgate.yaml").display()
    );

    let tmp = TempDir::new("modgate-cli-conf");
    copy_tree(&conf, &tmp.join("conf"));
    let certs = tmp.join("certs");
    let certs_arg = certs.to_string_lossy().into_owned();
    let made = run_modgate(&["cert", "dev", "--dir", &certs_arg]);
    assert!(
        made.status.success(),
        "{} cert dev failed: {}",
        modgate_bin(),
        stderr(&made)
    );
    for name in ["dev-ca.pem", "server.crt", "server.key"] {
        assert!(certs.join(name).is_file(), "cert dev wrote no {name}");
    }

    let mut files = Vec::new();
    yaml_files(&tmp.join("conf"), &mut files);
    assert!(!files.is_empty());
    let mut failures = Vec::new();
    for file in &files {
        let text = fs::read_to_string(file).expect("read config");
        let names = env_names(&text);
        let values: Vec<(String, String)> = names
            .iter()
            .map(|n| (n.clone(), format!("placeholder-{}", n.to_lowercase())))
            .collect();
        let env: Vec<(&str, &str)> = values
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let path = file.to_string_lossy().into_owned();
        let out = run_modgate_with(&["check", "-c", &path], &env, None);
        let shown = file.strip_prefix(tmp.path()).unwrap_or(file).display();
        if !out.status.success() || stdout(&out) != "ok\n" {
            failures.push(format!("{shown}:\n{}{}", stdout(&out), stderr(&out)));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
