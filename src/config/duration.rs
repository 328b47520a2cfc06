//! Durations as the contract writes them: `250ms`, `2s`, `5m`, `1h`, or sums like `1m30s`.

use std::time::Duration;

pub fn parse(text: &str) -> Result<Duration, String> {
    let bad = || {
        format!("invalid duration {text:?}: write a number with a unit (ms, s, m, h), e.g. 250ms, 2s or 5m")
    };
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(bad());
    }
    let mut total = Duration::ZERO;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad());
        }
        let number: u64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let part = match &rest[..unit] {
            "ms" => Duration::from_millis(number),
            "s" => Duration::from_secs(number),
            "m" => Duration::from_secs(number.saturating_mul(60)),
            "h" => Duration::from_secs(number.saturating_mul(3600)),
            _ => return Err(bad()),
        };
        rest = &rest[unit..];
        total = total.saturating_add(part);
    }
    // Every duration in the contract is a timeout or an interval; one past a day is a
    // typo, and an unbounded one overflows the clock arithmetic it is added to.
    if total > LONGEST {
        return Err(format!(
            "duration {text:?} is longer than a day: write at most 24h"
        ));
    }
    Ok(total)
}

const LONGEST: Duration = Duration::from_secs(24 * 3600);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contract_examples_parse() {
        assert_eq!(parse("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse("1m30s"), Ok(Duration::from_secs(90)));
    }

    #[test]
    fn more_than_a_day_is_refused() {
        assert_eq!(parse("24h"), Ok(LONGEST));
        for text in [
            "25h",
            "1441m",
            "9999999999999999999s",
            "1h1000000000000000000h",
        ] {
            let error = parse(text).expect_err(text);
            assert!(error.contains("at most 24h"), "{error}");
        }
    }

    #[test]
    fn numbers_without_units_are_refused_with_an_example() {
        for text in ["", "10", "s", "2 s", "1.5s", "2d", "-1s"] {
            let error = parse(text).expect_err(text);
            assert!(error.contains("e.g. 250ms"), "{error}");
        }
    }
}
