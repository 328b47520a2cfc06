//! The store's side of the request's way: a stored answer served after every check,
//! a miss that leads or follows the upstream fetch, and a kept list or `@latest`
//! answer served when every upstream fails.

use super::ctx::{CacheResult, RequestCtx};
use super::stored::{self, Freshness};
use super::Gateway;
use crate::cache::{layout, Role, Stored};
use crate::request::Kind;
use pingora::proxy::{FailToProxy, Session};

impl Gateway {
    /// For a module request whose route caches: the stored answer if there is one
    /// (an artifact, or a list or `@latest` younger than `list_ttl`), else notes
    /// where a 200 from upstream will be stored. Called after every address, key,
    /// route and role check, so a stored private module is served only to whom the
    /// route is open.
    pub(super) fn stored_answer(
        &self,
        ctx: &mut RequestCtx,
        get: bool,
    ) -> Option<(Stored, Freshness)> {
        let forward = ctx.forward.as_ref()?;
        let ttl = ctx.snapshot.cache.as_ref()?.list_ttl;
        let kind = forward.kind;
        if kind == Kind::Sumdb {
            return None;
        }
        let route_caches = forward
            .route
            .and_then(|r| ctx.snapshot.routes.get(r))
            .is_some_and(|r| r.cache);
        let path = match (route_caches, &forward.module, &forward.version) {
            (true, Some(module), Some(version)) => layout::artifact_path(kind, module, version),
            (true, Some(module), None) => layout::answer_path(kind, module),
            _ => None,
        };
        let (Some(path), Some(store)) = (path, self.live.store()) else {
            ctx.cache = Some(CacheResult::Bypass);
            return None;
        };
        if matches!(kind, Kind::List | Kind::Latest) {
            if let Some((kept, age)) = store.open_answer(&path) {
                if let Some(left) = ttl.checked_sub(age).filter(|left| !left.is_zero()) {
                    ctx.cache = Some(CacheResult::Hit);
                    return Some((kept, Freshness::For(left)));
                }
                ctx.stale = Some((store.clone(), path.clone()));
            }
        } else if let Some(stored) = store.open_artifact(&path) {
            ctx.cache = Some(CacheResult::Hit);
            return Some((stored, Freshness::Immutable));
        }
        ctx.cache = Some(CacheResult::Miss);
        // A HEAD answer has no body to store.
        if !get {
            return None;
        }
        if matches!(kind, Kind::Info | Kind::Mod | Kind::Zip) {
            match store.join(&path) {
                Role::Lead(lead) => ctx.lead = Some(lead),
                Role::Follow(flight) => {
                    // A follower that ends up asking upstream itself stores nothing.
                    ctx.follow = Some((store, path, flight));
                    return None;
                }
            }
        }
        ctx.artifact = Some((store, path));
        None
    }
}

/// Every upstream failed: a kept list or `@latest` answer, however old, is better than
/// an error (stale-if-error); the go command can still resolve what it fetched before.
pub(super) async fn serve_stale(
    session: &mut Session,
    ctx: &mut RequestCtx,
) -> Option<FailToProxy> {
    let (store, path) = ctx.stale.take()?;
    let (kept, _) = store.open_answer(&path)?;
    let kind = ctx.forward.as_ref()?.kind;
    let sent = stored::serve(session, kept, kind, Freshness::Stale).await;
    ctx.cache = Some(CacheResult::Stale);
    tracing::warn!(
        answer = %path,
        "every upstream failed: the kept answer was served, marked stale"
    );
    Some(match sent {
        Ok(bytes) => {
            ctx.bytes = bytes;
            FailToProxy {
                error_code: 200,
                can_reuse_downstream: true,
            }
        }
        Err(_) => FailToProxy {
            error_code: 0,
            can_reuse_downstream: false,
        },
    })
}
