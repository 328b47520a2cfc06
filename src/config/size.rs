//! Sizes as the configuration writes them: `512KiB`, `200MiB`, `20GiB`, `1TiB`, or
//! plain bytes.

pub fn parse(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    let (number, unit) = text.split_at(digits);
    let shift = match unit.trim() {
        "" | "B" => 0,
        "KiB" => 10,
        "MiB" => 20,
        "GiB" => 30,
        "TiB" => 40,
        other => {
            return Err(format!(
            "unknown size unit {other:?} in {text:?}: use bytes, KiB, MiB, GiB or TiB (e.g. 20GiB)"
        ))
        }
    };
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a size: write e.g. 20GiB or 512MiB"))?;
    number
        .checked_mul(1 << shift)
        .ok_or_else(|| format!("{text:?} is too large"))
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn units_are_powers_of_two() {
        assert_eq!(parse("512KiB"), Ok(512 << 10));
        assert_eq!(parse("200MiB"), Ok(200 << 20));
        assert_eq!(parse("20GiB"), Ok(20 << 30));
        assert_eq!(parse("1TiB"), Ok(1 << 40));
        assert_eq!(parse("12345"), Ok(12345));
        assert_eq!(parse("7 MiB"), Ok(7 << 20));
    }

    #[test]
    fn anything_else_is_an_error_that_says_what_to_write() {
        for bad in ["", "GiB", "20GB", "1.5GiB", "-1", "99999999999TiB"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert!(parse("20GB").unwrap_err().contains("GiB"));
    }
}
