//! Configuration durations (`250ms`, `1m30s`): any text parses or is refused with a
//! message, never a panic; a parsed duration is at most a day, prints back as
//! milliseconds and parses to the same value, and two parsed texts written one after
//! the other parse to the sum (or are refused when the sum is past a day).
#![no_main]

use libfuzzer_sys::fuzz_target;
use modgate::config::duration::parse;
use std::time::Duration;

const DAY: Duration = Duration::from_secs(24 * 3600);

fuzz_target!(|text: &str| {
    match parse(text) {
        Ok(d) => {
            assert!(!text.trim().is_empty());
            assert!(d <= DAY, "{text:?} gave {d:?}");
            assert_eq!(d.subsec_nanos() % 1_000_000, 0, "{text:?}");
            assert_eq!(parse(&format!("{}ms", d.as_millis())), Ok(d), "{text:?}");
        }
        Err(message) => assert!(
            message.contains("e.g. 250ms") || message.contains("at most 24h"),
            "{message}"
        ),
    }
    let mut cut = text.len() / 2;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let (a, b) = text.split_at(cut);
    if a.trim() == a && b.trim() == b {
        if let (Ok(x), Ok(y)) = (parse(a), parse(b)) {
            match parse(text) {
                Ok(sum) => assert_eq!(sum, x + y, "{a:?} + {b:?}"),
                Err(_) => assert!(x + y > DAY, "{a:?} + {b:?} refused"),
            }
        }
    }
});
