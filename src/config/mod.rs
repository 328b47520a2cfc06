//! From the YAML file to a `Snapshot`: parse strictly, expand `${ENV}`, validate and
//! compile, reporting every problem with the file, line and column to change.

mod compile;
pub mod duration;
mod env;
pub mod error;
pub mod file;
mod locate;
pub mod size;

pub(crate) use compile::routes::MAX_TRIES;
pub use error::{ConfigError, ConfigErrors};
pub use locate::Position;

use crate::pool::registry::StateRegistry;
use crate::snapshot::Snapshot;
use std::path::Path;

/// Reads and compiles the file at `path`, taking environment variables from the process.
pub fn load(path: &Path, states: &StateRegistry) -> Result<Snapshot, ConfigErrors> {
    let text = std::fs::read_to_string(path).map_err(|error| {
        ConfigErrors(vec![ConfigError {
            file: path.to_path_buf(),
            position: None,
            message: format!("cannot read the configuration file: {error}"),
        }])
    })?;
    compile_text(path, &text, &|name| std::env::var(name).ok(), states)
}

/// The pure part of `load`: `text` is the file's content, `env` the variables.
pub fn compile_text(
    path: &Path,
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
    states: &StateRegistry,
) -> Result<Snapshot, ConfigErrors> {
    let locations = locate::Lazy::new(text);
    let fail = |position, message: String| {
        ConfigErrors(vec![ConfigError {
            file: path.to_path_buf(),
            position,
            message,
        }])
    };
    // First pass on the text as written: structural errors with serde's positions.
    let parsed = serde_yaml::from_str::<file::File>(text).map_err(|error| {
        let position = error.location().map(|l| Position {
            line: l.line(),
            column: l.column(),
        });
        fail(position, serde_message(&error))
    })?;
    if !text.contains("${") {
        return compile::compile(path, &locations, parsed, states);
    }
    let mut value: serde_yaml::Value =
        serde_yaml::from_str(text).map_err(|e| fail(None, serde_message(&e)))?;
    let mut env_errors = Vec::new();
    env::expand_tree(&mut value, "", env, &mut env_errors);
    if !env_errors.is_empty() {
        return Err(ConfigErrors(
            env_errors
                .into_iter()
                .map(|(node, message)| ConfigError {
                    file: path.to_path_buf(),
                    position: Some(locations.find(&node)),
                    message,
                })
                .collect(),
        ));
    }
    // Through text again rather than `from_value`, which is stricter than `from_str`
    // about plain scalars (`timeout: 2` reaches the duration check as "2").
    let parsed: file::File = serde_yaml::to_string(&value)
        .and_then(|expanded| serde_yaml::from_str(&expanded))
        .map_err(|e| fail(None, serde_message(&e)))?;
    compile::compile(path, &locations, parsed, states)
}

/// serde_yaml appends " at line L column C"; the position is printed in front instead.
fn serde_message(error: &serde_yaml::Error) -> String {
    let text = error.to_string();
    let text = match text.rfind(" at line ") {
        Some(cut) => &text[..cut],
        None => &text,
    };
    // serde quotes an unknown key as written; a line break in it would split one error
    // over two lines of the `FILE:LINE:COLUMN: message` output.
    text.replace('\n', "\\n").replace('\r', "\\r")
}
