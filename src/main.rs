#![forbid(unsafe_code)]

use clap::{Parser, Subcommand};
use modgate::config;
use modgate::pool::registry::StateRegistry;
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

/// A gateway for Go module proxy traffic.
#[derive(Parser)]
#[command(name = "modgate", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway in the foreground.
    Run {
        /// The configuration file.
        #[arg(short, long, default_value = "conf/modgate.yaml")]
        config: PathBuf,
        /// Take over the listening sockets of a running modgate (send it SIGQUIT).
        #[arg(long)]
        upgrade: bool,
    },
    /// Validate a configuration file like `nginx -t`: prints ok or every problem.
    Check {
        /// The configuration file.
        #[arg(short, long, default_value = "conf/modgate.yaml")]
        config: PathBuf,
    },
    /// Work on the cache's store (cache.dir of the configuration), also while
    /// modgate serves it.
    Cache {
        /// The configuration file that names the store.
        #[arg(short, long, default_value = "conf/modgate.yaml")]
        config: PathBuf,
        #[command(subcommand)]
        command: CacheCommand,
    },
    /// Certificates for local use.
    Cert {
        #[command(subcommand)]
        command: CertCommand,
    },
    /// Print the sha256 of a key for auth.keys[].sha256 (reads stdin without KEY).
    HashKey {
        /// The key; prefer stdin so it stays out of the shell history.
        key: Option<String>,
    },
}

#[derive(Subcommand)]
enum CacheCommand {
    /// Add the artifacts of a GOPROXY tree or a $GOMODCACHE/cache/download directory,
    /// each checked as an upstream answer would be.
    Import { dir: PathBuf },
    /// List what is stored: module, version, files and bytes.
    Ls {
        /// Only this module (or modules under this path).
        module: Option<String>,
    },
    /// Check every stored artifact (zips readable, files what their kind says).
    Verify,
}

#[derive(Subcommand)]
enum CertCommand {
    /// Make a local CA and a certificate for localhost, 127.0.0.1 and ::1.
    Dev {
        /// Where to write dev-ca.pem, server.crt and server.key.
        #[arg(long, default_value = "certs")]
        dir: PathBuf,
    },
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Run { config, upgrade } => match modgate::server::run(&config, upgrade) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("{error}");
                ExitCode::FAILURE
            }
        },
        Command::Check { config } => match config::load(&config, &StateRegistry::default()) {
            Ok(_) => {
                println!("ok");
                ExitCode::SUCCESS
            }
            Err(errors) => {
                eprintln!("{errors}");
                ExitCode::FAILURE
            }
        },
        Command::Cache { config, command } => cache::run(&config, command),
        Command::Cert {
            command: CertCommand::Dev { dir },
        } => match modgate::tls::dev::make(&dir, &modgate::tls::dev::DEV_NAMES) {
            Ok(made) => {
                println!(
                    "wrote {} (CA), {} and {} (server, for {})",
                    made.ca.display(),
                    made.cert.display(),
                    made.key.display(),
                    modgate::tls::dev::DEV_NAMES.join(", ")
                );
                println!("trust it in the go command with:");
                println!("  export SSL_CERT_FILE={}", absolute(&made.ca).display());
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("{error}");
                ExitCode::FAILURE
            }
        },
        Command::HashKey { key } => {
            let key = match key {
                Some(key) => key,
                None => {
                    let mut input = String::new();
                    if let Err(error) = std::io::stdin().read_to_string(&mut input) {
                        eprintln!("cannot read the key from stdin: {error}");
                        return ExitCode::FAILURE;
                    }
                    input.trim_end_matches(['\n', '\r']).to_string()
                }
            };
            if key.is_empty() {
                eprintln!("the key is empty: pass it as an argument or on stdin");
                return ExitCode::FAILURE;
            }
            println!("{}", hex::encode(modgate::auth::hash_key(key.as_bytes())));
            ExitCode::SUCCESS
        }
    }
}

fn absolute(path: &std::path::Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

mod cache {
    use super::CacheCommand;
    use modgate::cache::tools;
    use modgate::config;
    use modgate::pool::registry::StateRegistry;
    use std::path::{Path, PathBuf};
    use std::process::ExitCode;

    fn store_dir(config: &Path) -> Result<PathBuf, String> {
        let snapshot =
            config::load(config, &StateRegistry::default()).map_err(|e| e.to_string())?;
        snapshot
            .cache
            .map(|c| c.dir)
            .ok_or_else(|| format!("{}: has no cache section, so no store", config.display()))
    }

    pub fn run(config: &Path, command: CacheCommand) -> ExitCode {
        let root = match store_dir(config) {
            Ok(root) => root,
            Err(error) => {
                eprintln!("{error}");
                return ExitCode::FAILURE;
            }
        };
        let outcome = match command {
            CacheCommand::Import { dir } => import(&root, &dir),
            CacheCommand::Ls { module } => ls(&root, module.as_deref()),
            CacheCommand::Verify => verify(&root),
        };
        match outcome {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => ExitCode::FAILURE,
            Err(error) => {
                eprintln!("{}: {error}", root.display());
                ExitCode::FAILURE
            }
        }
    }

    fn import(root: &Path, from: &Path) -> std::io::Result<bool> {
        let report = tools::import(root, from)?;
        for refused in &report.refused {
            eprintln!("refused {refused}");
        }
        println!(
            "imported {} artifacts into {} ({} already there, {} refused)",
            report.added,
            root.display(),
            report.present,
            report.refused.len()
        );
        Ok(report.refused.is_empty())
    }

    fn ls(root: &Path, module: Option<&str>) -> std::io::Result<bool> {
        let found = tools::scan(root)?;
        let wanted =
            |m: &str| module.is_none_or(|want| m == want || m.starts_with(&format!("{want}/")));
        let mut lines: Vec<(String, String, Vec<&str>, u64)> = Vec::new();
        for f in found.iter().filter(|f| wanted(&f.module)) {
            match lines.last_mut() {
                Some(last) if last.0 == f.module && last.1 == f.version => {
                    last.2.push(f.kind.as_str());
                    last.3 += f.size;
                }
                _ => lines.push((
                    f.module.clone(),
                    f.version.clone(),
                    vec![f.kind.as_str()],
                    f.size,
                )),
            }
        }
        for (module, version, kinds, size) in lines {
            println!("{module} {version} {} {size}", kinds.join(","));
        }
        Ok(true)
    }

    fn verify(root: &Path) -> std::io::Result<bool> {
        let (checked, bad) = tools::verify(root)?;
        for bad in &bad {
            println!("bad {bad}");
        }
        println!("{checked} artifacts checked, {} bad", bad.len());
        Ok(bad.is_empty())
    }
}
