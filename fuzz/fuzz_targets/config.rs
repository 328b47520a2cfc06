//! Configuration text: any input compiles or gives errors, never a panic. Errors each
//! name the file, carry a one-line message and, when placed, a line and column inside
//! the text; compiling twice gives the same result; a compiled snapshot only refers to
//! pools it has. `${NAME}` expands to a value for `SET` and is missing otherwise.
//!
//! Inputs that could name a device or kernel file (`/dev/zero`, `/proc/...`, reached
//! through TLS or CA file paths, which the compiler reads) are skipped, as is `\` (YAML
//! escapes could spell those names), so that a run never blocks on a read.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modgate::config::compile_text;
use modgate::pool::registry::StateRegistry;
use std::path::Path;

fn env(name: &str) -> Option<String> {
    (name == "SET").then(|| "value".to_owned())
}

fn outcome(text: &str) -> Result<(usize, usize, usize), Vec<String>> {
    let file = Path::new("/nonexistent/modgate.yaml");
    match compile_text(file, text, &env, &StateRegistry::default()) {
        Ok(snapshot) => {
            assert_eq!(snapshot.source, file);
            for route in snapshot.routes.iter() {
                assert!(
                    route.pools.iter().all(|p| *p < snapshot.pools.len()),
                    "{route:?}"
                );
            }
            for sumdb in &snapshot.sumdbs {
                assert!(sumdb.pool < snapshot.pools.len(), "{sumdb:?}");
                assert!(snapshot.sumdb(&sumdb.name).is_some());
            }
            assert!(!snapshot.listeners.is_empty());
            Ok((
                snapshot.routes.len(),
                snapshot.pools.len(),
                snapshot.sumdbs.len(),
            ))
        }
        Err(errors) => {
            assert!(!errors.0.is_empty());
            // YAML 1.1 breaks lines at `\n`, `\r\n`, a lone `\r`, NEL, LS and PS; the
            // parser may point one line past the last one at the end of the text.
            let breaks = text
                .replace("\r\n", "\n")
                .matches(['\n', '\r', '\u{85}', '\u{2028}', '\u{2029}'])
                .count();
            let mut shown = Vec::new();
            for error in &errors.0 {
                let line = error.to_string();
                assert!(line.starts_with("/nonexistent/modgate.yaml:"), "{line}");
                assert!(!error.message.is_empty(), "{line}");
                assert!(!error.message.contains(['\n', '\r']), "{line:?}");
                if let Some(at) = error.position {
                    assert!(at.line >= 1 && at.column >= 1, "{line}");
                    assert!(
                        at.line <= breaks + 2,
                        "{line}: the text has {breaks} line breaks"
                    );
                }
                shown.push(line);
            }
            Err(shown)
        }
    }
}

fuzz_target!(|text: &str| {
    if ["dev", "proc", "sys", "\\"]
        .iter()
        .any(|s| text.contains(s))
    {
        return;
    }
    let first = outcome(text);
    assert_eq!(first, outcome(text), "{text:?}");
});
