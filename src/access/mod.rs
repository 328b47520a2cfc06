//! Who may connect: address rules on the TCP peer or, behind a trusted proxy, on the
//! client address it reports.

pub mod client_ip;
pub mod rules;
mod trie;

pub use rules::{AccessRules, NetSet, Verdict};
