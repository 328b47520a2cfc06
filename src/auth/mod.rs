//! Who is asking: the key a request carries, and what its roles let it read.

pub mod credentials;
pub mod keyring;

pub use credentials::{presented_key, Presented};
pub use keyring::{hash_key, AuthError, Grant, Keyring, RouteSet};
