//! A route's `file://` pools, asked first and in order, before any network pool:
//! the offline site's own GOPROXY trees.

use super::ctx::RequestCtx;
use super::decide::Answer;
use super::respond;
use super::stored::{self, content_type, Freshness};
use crate::cache::Stored;
use crate::pool::tree::{self, Found};
use crate::request::Kind;
use pingora::prelude::*;
use pingora::proxy::Session;
use std::time::Duration;

/// Serves the request from the first tree that has it (true); false when a network
/// pool is to be asked next. When every pool is a tree and none has it, the answer is
/// a 404, so the go command tries its next proxy.
pub async fn serve(session: &mut Session, ctx: &mut RequestCtx) -> Result<bool> {
    let Some(forward) = ctx.forward.as_ref() else {
        return Ok(false);
    };
    let (kind, pools) = (forward.kind, forward.pools.clone());
    let Some(module) = forward.module.clone().filter(|_| kind != Kind::Sumdb) else {
        return Ok(false);
    };
    let version = forward.version.clone();
    while let Some(pool) = pools
        .get(ctx.pool_step)
        .map(|p| ctx.snapshot.pools[*p].clone())
    {
        let Some(root) = &pool.tree else {
            return Ok(false);
        };
        match tree::lookup(root, kind, &module, version.as_deref()) {
            Some(Found::File(file)) => {
                let stored = Stored::from_file(file)
                    .ok_or_else(|| Error::explain(ReadError, "a tree file vanished"))?;
                let freshness = match kind {
                    Kind::Info | Kind::Mod | Kind::Zip => Freshness::Immutable,
                    _ => Freshness::For(Duration::ZERO),
                };
                ctx.bytes = stored::serve(session, stored, kind, freshness).await?;
                return Ok(true);
            }
            Some(Found::Computed(body)) => {
                ctx.bytes = body.len() as u64;
                respond::write(session, 200, content_type(kind), body, false).await?;
                return Ok(true);
            }
            None => ctx.pool_step += 1,
        }
    }
    if ctx.pool_step == 0 {
        return Ok(false);
    }
    let what = match &version {
        Some(version) => format!("{module}@{version}"),
        None => module,
    };
    let answer = Answer {
        status: 404,
        body: format!("modgate: {what} is not in this site's module trees\n"),
        // Not a refusal: the module is simply not here.
        reason: None,
        challenge: false,
    };
    respond::answer(session, &answer).await?;
    ctx.answered = Some(answer);
    Ok(true)
}
