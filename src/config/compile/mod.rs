//! Validation and compilation of a parsed file into a `Snapshot`. Every check pushes
//! its error and goes on, so `modgate check` reports all problems at once.

mod access;
mod auth;
mod cache;
mod pools;
pub(crate) mod routes;
mod server;

use super::error::{ConfigError, ConfigErrors};
use super::file::File;
use super::locate::Lazy;
use crate::pool::registry::StateRegistry;
use crate::snapshot::Snapshot;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub(super) struct Ctx<'a> {
    file: &'a Path,
    locations: &'a Lazy<'a>,
    errors: Vec<ConfigError>,
}

impl Ctx<'_> {
    /// Records a problem found at the node `path` (e.g. `routes[0].pools[1]`).
    fn error(&mut self, path: &str, message: impl Into<String>) {
        self.errors.push(ConfigError {
            file: self.file.to_path_buf(),
            position: Some(self.locations.find(path)),
            message: message.into(),
        });
    }

    /// Relative paths are relative to the config file's own directory.
    fn resolve(&self, path: &str) -> PathBuf {
        let path = Path::new(path);
        if path.is_absolute() {
            return path.to_path_buf();
        }
        self.file
            .parent()
            .unwrap_or_else(|| Path::new("."))
            .join(path)
    }

    fn duration(&mut self, path: &str, text: Option<&str>, default: Duration) -> Duration {
        match text.map(super::duration::parse) {
            None => default,
            Some(Ok(duration)) => duration,
            Some(Err(message)) => {
                self.error(path, message);
                default
            }
        }
    }

    /// For a timeout or interval where 0 cannot mean anything useful (every connection
    /// closed at once, every upstream connect or read failing at once, a check loop
    /// that never pauses), or means something else to
    /// Pingora (a keep-alive of 0 seconds is forever): refused rather than bent.
    fn nonzero_duration(&mut self, path: &str, text: Option<&str>, default: Duration) -> Duration {
        let duration = self.duration(path, text, default);
        if duration.is_zero() {
            self.error(
                path,
                format!("{path} must be longer than 0, e.g. {default:?}"),
            );
            return default;
        }
        duration
    }
}

pub(super) fn compile(
    file_path: &Path,
    locations: &Lazy,
    file: File,
    states: &StateRegistry,
) -> Result<Snapshot, ConfigErrors> {
    let mut ctx = Ctx {
        file: file_path,
        locations,
        errors: Vec::new(),
    };
    let server = server::server(&mut ctx, &file.server);
    let log = server::log(&mut ctx, &file.log);
    let listeners = server::listeners(&mut ctx, &file.listeners);
    let admin = server::admin(&mut ctx, file.admin.as_ref(), &listeners);
    let trusted_proxies = access::trusted_proxies(&mut ctx, &file.client_ip);
    let access = access::rules(&mut ctx, file.access.as_ref());
    let (pools, pool_names) = pools::pools(&mut ctx, &file.pools, states);
    let routes = routes::routes(
        &mut ctx,
        &file.routes,
        &pool_names,
        &pools,
        file.cache.is_some(),
    );
    let sumdbs = routes::sumdbs(&mut ctx, &file.sumdb, &pool_names, &pools);
    let cache = cache::cache(&mut ctx, file.cache.as_ref());
    let keyring = auth::keyring(&mut ctx, file.auth.as_ref(), &file.routes);
    if !ctx.errors.is_empty() {
        return Err(ConfigErrors(ctx.errors));
    }
    Ok(Snapshot {
        source: file_path.to_path_buf(),
        server,
        log,
        listeners,
        admin,
        trusted_proxies,
        access,
        keyring,
        routes,
        pools,
        sumdbs,
        cache,
    })
}

/// Names are used in metrics labels and error messages: keep them plain.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

#[cfg(test)]
mod tests;
