//! Configuration text: any input compiles or gives errors that each name the file and
//! carry a message, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modgate::config::compile_text;
use modgate::pool::registry::StateRegistry;
use std::path::Path;

fuzz_target!(|text: &str| {
    let file = Path::new("/nonexistent/modgate.yaml");
    if let Err(errors) = compile_text(file, text, &|_| None, &StateRegistry::default()) {
        assert!(!errors.0.is_empty());
        for error in &errors.0 {
            let shown = error.to_string();
            assert!(shown.starts_with("/nonexistent/modgate.yaml"), "{shown}");
            assert!(!error.message.is_empty(), "{shown}");
        }
    }
});
