use super::Ctx;
use crate::config::{file, size};
use crate::snapshot::CacheSettings;
use std::time::Duration;

/// Nothing is created or read here (`modgate check` must not fill a disk): the store
/// is opened at start and on reload, from these settings.
pub(super) fn cache(ctx: &mut Ctx, cache: Option<&file::Cache>) -> Option<CacheSettings> {
    let cache = cache?;
    if cache.store.is_some() {
        ctx.error(
            "cache.store",
            "cache.store (a shared object store) is not supported by this version: remove it, the cache dir is the store",
        );
    }
    let dir = ctx.resolve(&cache.dir);
    if dir.exists() && !dir.is_dir() {
        ctx.error(
            "cache.dir",
            format!(
                "cache.dir {} is not a directory: name a directory (it is created when missing)",
                dir.display()
            ),
        );
    }
    let max_size = match cache.max_size.as_deref().map(size::parse) {
        None => 20 << 30,
        Some(Ok(0)) => {
            ctx.error(
                "cache.max_size",
                "cache.max_size must be more than 0, e.g. 20GiB",
            );
            1
        }
        Some(Ok(bytes)) => bytes,
        Some(Err(message)) => {
            ctx.error("cache.max_size", message);
            1
        }
    };
    let list_ttl = ctx.duration(
        "cache.list_ttl",
        cache.list_ttl.as_deref(),
        Duration::from_secs(60),
    );
    Some(CacheSettings {
        dir,
        max_size,
        list_ttl,
    })
}
