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
