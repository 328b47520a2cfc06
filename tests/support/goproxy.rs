//! A GOPROXY-layout directory generator (`<escaped module>/@v/list`, `.info`,
//! `.mod`, `.zip`, `<escaped module>/@latest`).
//!
//! Zips follow the rules of Go's module zip format (golang.org/x/mod/zip):
//! every entry is a file (no directory entries) named `<module>@<version>/<path>`
//! with the *unescaped* module path, `go.mod` at the root, no duplicate names
//! after case folding, stored (uncompressed) entries, total size below 500 MiB.

use std::cmp::Ordering;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use super::tempdir::TempDir;

/// `Time` written in every `.info`.
pub const INFO_TIME: &str = "2024-01-01T00:00:00Z";

/// A public-looking module: `package greet`, `func Hello() string`.
pub const GREET_MODULE: &str = "example.com/greet";
pub const GREET_VERSION: &str = "v1.0.0";
/// A second, newer version of [`GREET_MODULE`] (what `@latest` answers).
pub const GREET_NEWER_VERSION: &str = "v1.1.0";
/// What `greet.Hello()` returns at [`GREET_VERSION`].
pub const GREET_HELLO: &str = "hello from greet v1.0.0";

/// A module path with upper-case letters: `package caseutil`, `func Shout(s string) string`.
pub const CASE_MODULE: &str = "github.com/Upper/Case";
/// [`CASE_MODULE`] as escaped in URLs and on disk.
pub const CASE_MODULE_ESCAPED: &str = "github.com/!upper/!case";
pub const CASE_VERSION: &str = "v1.2.0";
/// The Go package name of [`CASE_MODULE`].
pub const CASE_PACKAGE: &str = "caseutil";

/// A private module: `package secret`, `func Token() string`.
pub const SECRET_MODULE: &str = "git.corp.example.com/team/secret";
pub const SECRET_VERSION: &str = "v0.1.0";
/// What `secret.Token()` returns.
pub const SECRET_TOKEN: &str = "corp-secret-token";

/// Go's module path (and version) escaping: each upper-case ASCII letter
/// becomes `!` followed by its lower-case form.
pub fn escape(path: &str) -> String {
    assert!(
        !path.contains('!'),
        "{path:?}: `!` is not allowed in a module path"
    );
    let mut out = String::with_capacity(path.len() + 4);
    for c in path.chars() {
        if c.is_ascii_uppercase() {
            out.push('!');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The `.info` JSON for a version.
pub fn info_json(version: &str) -> String {
    format!("{{\"Version\":\"{version}\",\"Time\":\"{INFO_TIME}\"}}")
}

/// The URL path (leading `/`, escaped) of a version file: `ext` is `info`, `mod` or `zip`.
/// `url_path("github.com/Upper/Case", "v1.2.0", "zip")` = `/github.com/!upper/!case/@v/v1.2.0.zip`.
pub fn url_path(module: &str, version: &str, ext: &str) -> String {
    format!("/{}/@v/{}.{ext}", escape(module), escape(version))
}

/// The URL path of a module's version list: `/<escaped>/@v/list`.
pub fn list_path(module: &str) -> String {
    format!("/{}/@v/list", escape(module))
}

/// The URL path of a module's `@latest`: `/<escaped>/@latest`.
pub fn latest_path(module: &str) -> String {
    format!("/{}/@latest", escape(module))
}

/// A directory in GOPROXY layout, removed on drop.
#[derive(Debug)]
pub struct ProxyDir {
    dir: TempDir,
}

impl Default for ProxyDir {
    fn default() -> Self {
        ProxyDir::new()
    }
}

impl ProxyDir {
    /// A new directory holding the fixture modules of [`ProxyDir::add_fixture_modules`].
    pub fn with_fixtures() -> ProxyDir {
        let dir = ProxyDir::new();
        dir.add_fixture_modules();
        dir
    }

    pub fn new() -> ProxyDir {
        ProxyDir {
            dir: TempDir::new("modgate-goproxy"),
        }
    }

    /// The root (what `GOPROXY=file://<root>` or an [`super::Upstream`] serves).
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `<root>/<escaped module>/@v`.
    pub fn version_dir(&self, module: &str) -> PathBuf {
        self.path().join(escape(module)).join("@v")
    }

    /// `<root>/<escaped module>/@v/<escaped version>.<ext>`.
    pub fn file_path(&self, module: &str, version: &str, ext: &str) -> PathBuf {
        self.version_dir(module)
            .join(format!("{}.{ext}", escape(version)))
    }

    /// Adds `module@version` with the given files (paths relative to the module
    /// root, `/`-separated). `go.mod` defaults to `module <module>\n`.
    /// Writes `.info`, `.mod`, `.zip`, appends to `@v/list` and refreshes `@latest`.
    /// Every file is written to a temporary name and renamed, so a running
    /// upstream never serves a partial file.
    pub fn add_module(&self, module: &str, version: &str, files: &[(&str, &str)]) {
        let default_go_mod = format!("module {module}\n");
        let go_mod = files
            .iter()
            .find(|(name, _)| *name == "go.mod")
            .map(|(_, content)| *content)
            .unwrap_or(&default_go_mod);

        let mut entries: Vec<(&str, &[u8])> = vec![("go.mod", go_mod.as_bytes())];
        entries.extend(
            files
                .iter()
                .filter(|(name, _)| *name != "go.mod")
                .map(|(name, content)| (*name, content.as_bytes())),
        );
        check_file_names(module, version, entries.iter().map(|(n, _)| *n));

        self.prepare(module, version, go_mod);
        let zip_path = self.file_path(module, version, "zip");
        write_atomic_with(&zip_path, |out| {
            let mut zw = ZipWriter::new(out);
            for (name, content) in &entries {
                zw.start_file(format!("{module}@{version}/{name}"), stored())
                    .map_err(io::Error::other)?;
                zw.write_all(content)?;
            }
            zw.finish().map_err(io::Error::other)?;
            Ok(())
        });
        self.publish(module, version);
    }

    /// Adds `module@version` whose zip is roughly `size` bytes: `go.mod` plus
    /// stored entries (`blob/part-NNN.bin`, at most 64 MiB each) of
    /// pseudo-random, incompressible bytes, written streaming (constant memory).
    pub fn add_big_zip(&self, module: &str, version: &str, size: u64) {
        const PART: u64 = 64 << 20;
        let go_mod = format!("module {module}\n");
        self.prepare(module, version, &go_mod);

        // Per entry: ~30 B local header + 46 B central header + 2 names.
        let name_len = module.len() + version.len() + 20;
        let parts = size.div_ceil(PART).max(1);
        let overhead = (parts + 1) * (76 + 2 * name_len as u64) + 22 + go_mod.len() as u64;
        let mut remaining = size.saturating_sub(overhead);

        let zip_path = self.file_path(module, version, "zip");
        write_atomic_with(&zip_path, |out| {
            let mut zw = ZipWriter::new(out);
            zw.start_file(format!("{module}@{version}/go.mod"), stored())
                .map_err(io::Error::other)?;
            zw.write_all(go_mod.as_bytes())?;
            let mut rng = XorShift::new(size ^ 0x9E37_79B9_7F4A_7C15);
            let mut buf = vec![0u8; 64 * 1024];
            let mut part = 0;
            while remaining > 0 || part == 0 {
                let this_part = remaining.min(PART);
                zw.start_file(
                    format!("{module}@{version}/blob/part-{part:03}.bin"),
                    stored(),
                )
                .map_err(io::Error::other)?;
                let mut left = this_part;
                while left > 0 {
                    let n = left.min(buf.len() as u64) as usize;
                    rng.fill(&mut buf[..n]);
                    zw.write_all(&buf[..n])?;
                    left -= n as u64;
                }
                remaining -= this_part;
                part += 1;
            }
            zw.finish().map_err(io::Error::other)?;
            Ok(())
        });
        self.publish(module, version);
    }

    /// Adds the fixture modules used by go-command tests, each a compilable
    /// package with `go 1.19`:
    /// - [`GREET_MODULE`] at [`GREET_VERSION`] and [`GREET_NEWER_VERSION`];
    /// - [`CASE_MODULE`] at [`CASE_VERSION`] (upper-case path, package `caseutil`);
    /// - [`SECRET_MODULE`] at [`SECRET_VERSION`].
    pub fn add_fixture_modules(&self) {
        self.add_greet(GREET_VERSION, GREET_HELLO);
        self.add_greet(GREET_NEWER_VERSION, "hello from greet v1.1.0");

        let go_mod = format!("module {CASE_MODULE}\n\ngo 1.19\n");
        let code = "// Package caseutil lives in a module whose path has upper-case letters.\n\
                    package caseutil\n\
                    \n\
                    import \"strings\"\n\
                    \n\
                    // Shout returns s in upper case with an exclamation mark.\n\
                    func Shout(s string) string {\n\
                    \treturn strings.ToUpper(s) + \"!\"\n\
                    }\n";
        self.add_module(
            CASE_MODULE,
            CASE_VERSION,
            &[("go.mod", go_mod.as_str()), ("caseutil.go", code)],
        );

        let go_mod = format!("module {SECRET_MODULE}\n\ngo 1.19\n");
        let code = format!(
            "// Package secret is a private module.\n\
             package secret\n\
             \n\
             // Token returns the team's token.\n\
             func Token() string {{\n\
             \treturn \"{SECRET_TOKEN}\"\n\
             }}\n"
        );
        self.add_module(
            SECRET_MODULE,
            SECRET_VERSION,
            &[("go.mod", go_mod.as_str()), ("secret.go", code.as_str())],
        );
    }

    fn add_greet(&self, version: &str, hello: &str) {
        let go_mod = format!("module {GREET_MODULE}\n\ngo 1.19\n");
        let code = format!(
            "// Package greet says hello.\n\
             package greet\n\
             \n\
             // Hello returns a greeting.\n\
             func Hello() string {{\n\
             \treturn \"{hello}\"\n\
             }}\n"
        );
        let license = "Test fixture, no rights reserved.\n";
        self.add_module(
            GREET_MODULE,
            version,
            &[
                ("go.mod", go_mod.as_str()),
                ("greet.go", code.as_str()),
                ("LICENSE", license),
            ],
        );
    }

    /// Writes `.info` and `.mod` (before the zip).
    fn prepare(&self, module: &str, version: &str, go_mod: &str) {
        let dir = self.version_dir(module);
        fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        write_atomic(
            &self.file_path(module, version, "info"),
            info_json(version).as_bytes(),
        );
        write_atomic(&self.file_path(module, version, "mod"), go_mod.as_bytes());
    }

    /// Adds the version to `@v/list` and rewrites `@latest` (after the zip).
    fn publish(&self, module: &str, version: &str) {
        let list_file = self.version_dir(module).join("list");
        let mut versions: Vec<String> = fs::read_to_string(&list_file)
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_owned)
            .collect();
        if !versions.iter().any(|v| v == version) {
            versions.push(version.to_owned());
        }
        let mut list = String::new();
        for v in &versions {
            list.push_str(v);
            list.push('\n');
        }
        write_atomic(&list_file, list.as_bytes());

        // Latest: the highest release, or the highest pre-release if there is none.
        let latest = versions
            .iter()
            .max_by(|a, b| {
                (!is_prerelease(a))
                    .cmp(&!is_prerelease(b))
                    .then_with(|| semver_cmp(a, b))
            })
            .expect("at least one version");
        write_atomic(
            &self.path().join(escape(module)).join("@latest"),
            info_json(latest).as_bytes(),
        );
    }
}

fn stored() -> SimpleFileOptions {
    SimpleFileOptions::default()
        .compression_method(CompressionMethod::Stored)
        .unix_permissions(0o644)
}

/// Rejects file names the go command would refuse in a module zip.
fn check_file_names<'a>(module: &str, version: &str, names: impl Iterator<Item = &'a str>) {
    let mut folded = std::collections::HashSet::new();
    for name in names {
        let bad = |why: &str| -> ! {
            panic!("{module}@{version}: file name {name:?} is not valid in a Go module zip: {why}")
        };
        if name.is_empty() || name.starts_with('/') || name.ends_with('/') {
            bad("must be a relative file path");
        }
        for elem in name.split('/') {
            if elem.is_empty() || elem.chars().all(|c| c == '.') {
                bad("empty, `.` or `..` element");
            }
            if elem.ends_with('.') {
                bad("element ends with a dot");
            }
            if elem
                .chars()
                .any(|c| c.is_control() || c == '\\' || c == ':' || "\"'*<>?`|".contains(c))
            {
                bad("disallowed character");
            }
        }
        if !folded.insert(name.to_lowercase()) {
            bad("duplicate name after case folding");
        }
    }
}

fn write_atomic(path: &Path, content: &[u8]) {
    write_atomic_with(path, |out| out.write_all(content));
}

fn write_atomic_with(path: &Path, write: impl FnOnce(&mut BufWriter<File>) -> io::Result<()>) {
    let mut tmp_name = path.file_name().expect("file name").to_os_string();
    tmp_name.push(".tmp");
    let tmp = path.with_file_name(tmp_name);
    let result = File::create(&tmp).and_then(|file| {
        let mut out = BufWriter::with_capacity(256 * 1024, file);
        write(&mut out)?;
        out.flush()?;
        Ok(())
    });
    if let Err(e) = result.and_then(|()| fs::rename(&tmp, path)) {
        let _ = fs::remove_file(&tmp);
        panic!("cannot write {}: {e}", path.display());
    }
}

/// xorshift64*: fast, incompressible-looking bytes.
struct XorShift(u64);

impl XorShift {
    fn new(seed: u64) -> XorShift {
        XorShift(seed | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let v = self.next().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }
}

fn split_version(v: &str) -> (&str, Option<&str>) {
    let v = v.strip_prefix('v').unwrap_or(v);
    let v = v.split('+').next().unwrap_or(v);
    match v.split_once('-') {
        Some((core, pre)) => (core, Some(pre)),
        None => (v, None),
    }
}

fn is_prerelease(v: &str) -> bool {
    split_version(v).1.is_some()
}

/// Semantic-version order of `vX.Y.Z[-pre][+build]` strings.
pub fn semver_cmp(a: &str, b: &str) -> Ordering {
    let (core_a, pre_a) = split_version(a);
    let (core_b, pre_b) = split_version(b);
    let nums = |core: &str| -> Vec<u64> {
        let mut n: Vec<u64> = core.split('.').map(|p| p.parse().unwrap_or(0)).collect();
        n.resize(3, 0);
        n
    };
    nums(core_a)
        .cmp(&nums(core_b))
        .then_with(|| match (pre_a, pre_b) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Greater,
            (Some(_), None) => Ordering::Less,
            (Some(x), Some(y)) => {
                let mut xs = x.split('.');
                let mut ys = y.split('.');
                loop {
                    match (xs.next(), ys.next()) {
                        (None, None) => return Ordering::Equal,
                        (None, Some(_)) => return Ordering::Less,
                        (Some(_), None) => return Ordering::Greater,
                        (Some(p), Some(q)) => {
                            let ord = match (p.parse::<u64>(), q.parse::<u64>()) {
                                (Ok(m), Ok(n)) => m.cmp(&n),
                                (Ok(_), Err(_)) => Ordering::Less,
                                (Err(_), Ok(_)) => Ordering::Greater,
                                (Err(_), Err(_)) => p.cmp(q),
                            };
                            if ord != Ordering::Equal {
                                return ord;
                            }
                        }
                    }
                }
            }
        })
}

/// Writes a main module in `dir` (go.mod + main.go) that requires and uses the
/// fixture modules ([`GREET_MODULE`], [`CASE_MODULE`] and, if `with_secret`,
/// [`SECRET_MODULE`]). `go run .` prints [`consumer_output`]`(with_secret)`.
pub fn write_fixture_consumer(dir: &Path, with_secret: bool) {
    let mut go_mod = format!(
        "module example.com/consumer\n\ngo 1.19\n\nrequire (\n\t{GREET_MODULE} {GREET_VERSION}\n\t{CASE_MODULE} {CASE_VERSION}\n"
    );
    let mut imports =
        format!("\t\"fmt\"\n\n\t{CASE_PACKAGE} \"{CASE_MODULE}\"\n\t\"{GREET_MODULE}\"\n");
    let mut body =
        format!("\tfmt.Println(greet.Hello())\n\tfmt.Println({CASE_PACKAGE}.Shout(\"modgate\"))\n");
    if with_secret {
        go_mod.push_str(&format!("\t{SECRET_MODULE} {SECRET_VERSION}\n"));
        imports.push_str(&format!("\t\"{SECRET_MODULE}\"\n"));
        body.push_str("\tfmt.Println(secret.Token())\n");
    }
    go_mod.push_str(")\n");
    let main_go = format!("package main\n\nimport (\n{imports})\n\nfunc main() {{\n{body}}}\n");
    fs::create_dir_all(dir).expect("create consumer dir");
    fs::write(dir.join("go.mod"), go_mod).expect("write go.mod");
    fs::write(dir.join("main.go"), main_go).expect("write main.go");
}

/// What the consumer written by [`write_fixture_consumer`] prints.
pub fn consumer_output(with_secret: bool) -> String {
    let mut out = format!("{GREET_HELLO}\nMODGATE!\n");
    if with_secret {
        out.push_str(SECRET_TOKEN);
        out.push('\n');
    }
    out
}
