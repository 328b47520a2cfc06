//! Configuration durations (`250ms`, `1m30s`): any text parses or is refused with a
//! message, never a panic; a parsed duration prints back as milliseconds and parses to
//! the same value, and two parsed texts written one after the other parse to the sum.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modgate::config::duration::parse;
use std::time::Duration;

fuzz_target!(|text: &str| {
    match parse(text) {
        Ok(d) => {
            assert!(!text.trim().is_empty());
            if d < Duration::from_millis(u64::MAX) {
                let millis = d.as_millis();
                assert_eq!(d.subsec_nanos() % 1_000_000, 0, "{text:?}");
                assert_eq!(parse(&format!("{millis}ms")), Ok(d), "{text:?}");
            }
        }
        Err(message) => assert!(message.contains("e.g. 250ms"), "{message}"),
    }
    let mut cut = text.len() / 2;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let (a, b) = text.split_at(cut);
    if a.trim() == a && b.trim() == b {
        if let (Ok(x), Ok(y)) = (parse(a), parse(b)) {
            assert_eq!(parse(text), Ok(x.saturating_add(y)), "{a:?} + {b:?}");
        }
    }
});
