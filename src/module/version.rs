//! Semantic version syntax as the go command understands it.
//!
//! Go's dialect of semver differs from semver.org: the `v` prefix is
//! mandatory and `vMAJOR` / `vMAJOR.MINOR` shorthands are valid (they stand
//! for `.0` components). The proxy protocol only ever carries versions that
//! pass `golang.org/x/mod/semver.IsValid`, so anything else in a `.mod` or
//! `.zip` request is a malformed request rather than an unknown version.

/// The parts of a parsed version that callers here need.
struct Parsed<'a> {
    /// True for the `vMAJOR` and `vMAJOR.MINOR` shorthands.
    short: bool,
    /// Build metadata including its leading `+`, or empty.
    build: &'a str,
}

/// Reports whether `v` is a valid semantic version in Go's sense
/// (`golang.org/x/mod/semver.IsValid`).
pub fn is_valid_semver(v: &str) -> bool {
    parse(v).is_some()
}

/// Reports whether `v` is already in the canonical form the go command uses
/// for module versions (`golang.org/x/mod/module.CanonicalVersion(v) == v`):
/// a full `vMAJOR.MINOR.PATCH[-pre]` with no build metadata other than
/// `+incompatible`, which the go command keeps because it is meaningful for
/// modules without a `go.mod` at major version 2 or above.
pub fn is_canonical(v: &str) -> bool {
    match parse(v) {
        Some(p) => !p.short && (p.build.is_empty() || p.build == "+incompatible"),
        None => false,
    }
}

/// Orders two canonical versions as Go's `semver.Compare` does: by major, minor and
/// patch, a release above its prereleases, prerelease identifiers numeric by value and
/// below alphanumeric ones; build metadata (`+incompatible`) does not count.
pub fn compare(a: &str, b: &str) -> std::cmp::Ordering {
    let split = |v: &str| {
        let v = v.trim_start_matches('v');
        let v = v.split('+').next().unwrap_or(v);
        let (core, pre) = v.split_once('-').unwrap_or((v, ""));
        (
            core.split('.').map(str::to_owned).collect::<Vec<_>>(),
            pre.to_owned(),
        )
    };
    let ((core_a, pre_a), (core_b, pre_b)) = (split(a), split(b));
    let by_core = core_a
        .iter()
        .zip(&core_b)
        .map(|(x, y)| numeric(x, y))
        .find(|o| o.is_ne())
        .unwrap_or(std::cmp::Ordering::Equal);
    by_core.then_with(|| match (pre_a.is_empty(), pre_b.is_empty()) {
        (true, true) => std::cmp::Ordering::Equal,
        (true, false) => std::cmp::Ordering::Greater,
        (false, true) => std::cmp::Ordering::Less,
        (false, false) => {
            let (mut xs, mut ys) = (pre_a.split('.'), pre_b.split('.'));
            loop {
                match (xs.next(), ys.next()) {
                    (None, None) => return std::cmp::Ordering::Equal,
                    (None, Some(_)) => return std::cmp::Ordering::Less,
                    (Some(_), None) => return std::cmp::Ordering::Greater,
                    (Some(x), Some(y)) => {
                        let digits = |s: &str| s.bytes().all(|c| c.is_ascii_digit());
                        let order = match (digits(x), digits(y)) {
                            (true, true) => numeric(x, y),
                            (true, false) => std::cmp::Ordering::Less,
                            (false, true) => std::cmp::Ordering::Greater,
                            (false, false) => x.cmp(y),
                        };
                        if order.is_ne() {
                            return order;
                        }
                    }
                }
            }
        }
    })
}

/// Decimal numbers without leading zeros, of any length.
fn numeric(a: &str, b: &str) -> std::cmp::Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

fn parse(v: &str) -> Option<Parsed<'_>> {
    let rest = v.strip_prefix('v')?;
    let rest = parse_int(rest)?;
    if rest.is_empty() {
        return Some(Parsed {
            short: true,
            build: "",
        });
    }
    let rest = parse_int(rest.strip_prefix('.')?)?;
    if rest.is_empty() {
        return Some(Parsed {
            short: true,
            build: "",
        });
    }
    let mut rest = parse_int(rest.strip_prefix('.')?)?;
    if rest.starts_with('-') {
        rest = parse_prerelease(rest)?;
    }
    let mut build = "";
    if rest.starts_with('+') {
        build = rest;
        rest = parse_build(rest)?;
    }
    if !rest.is_empty() {
        return None;
    }
    Some(Parsed {
        short: false,
        build,
    })
}

/// Consumes a numeric component without leading zeros; returns the rest.
fn parse_int(v: &str) -> Option<&str> {
    let digits = v.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 || (digits > 1 && v.starts_with('0')) {
        return None;
    }
    Some(&v[digits..])
}

/// Consumes `-ident(.ident)*` up to a `+` or the end; returns the rest.
fn parse_prerelease(v: &str) -> Option<&str> {
    let body = v.strip_prefix('-')?;
    let end = body.find('+').unwrap_or(body.len());
    let (pre, rest) = body.split_at(end);
    for ident in pre.split('.') {
        if ident.is_empty() || !ident.bytes().all(is_ident_char) || is_bad_num(ident) {
            return None;
        }
    }
    Some(rest)
}

/// Consumes `+ident(.ident)*` to the end; returns the (empty) rest.
fn parse_build(v: &str) -> Option<&str> {
    let body = v.strip_prefix('+')?;
    for ident in body.split('.') {
        if ident.is_empty() || !ident.bytes().all(is_ident_char) {
            return None;
        }
    }
    Some("")
}

fn is_ident_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'-'
}

/// A numeric prerelease identifier with a leading zero, which semver forbids.
fn is_bad_num(v: &str) -> bool {
    v.len() > 1 && v.starts_with('0') && v.bytes().all(|c| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Go's `semver_test.go` table: input and its canonical form, where an
    /// empty canonical form means "invalid".
    const GO_SEMVER_TESTS: &[(&str, &str)] = &[
        ("bad", ""),
        ("v1-alpha.beta.gamma", ""),
        ("v1-pre", ""),
        ("v1+meta", ""),
        ("v1-pre+meta", ""),
        ("v1.2-pre", ""),
        ("v1.2+meta", ""),
        ("v1.2-pre+meta", ""),
        ("v1.0.0-alpha", "v1.0.0-alpha"),
        ("v1.0.0-alpha.1", "v1.0.0-alpha.1"),
        ("v1.0.0-alpha.beta", "v1.0.0-alpha.beta"),
        ("v1.0.0-beta", "v1.0.0-beta"),
        ("v1.0.0-beta.2", "v1.0.0-beta.2"),
        ("v1.0.0-beta.11", "v1.0.0-beta.11"),
        ("v1.0.0-rc.1", "v1.0.0-rc.1"),
        ("v1", "v1.0.0"),
        ("v1.0", "v1.0.0"),
        ("v1.0.0", "v1.0.0"),
        ("v1.2", "v1.2.0"),
        ("v1.2.0", "v1.2.0"),
        ("v1.2.3-456", "v1.2.3-456"),
        ("v1.2.3-456.789", "v1.2.3-456.789"),
        ("v1.2.3-456-789", "v1.2.3-456-789"),
        ("v1.2.3-456a", "v1.2.3-456a"),
        ("v1.2.3-pre", "v1.2.3-pre"),
        ("v1.2.3-pre+meta", "v1.2.3-pre"),
        ("v1.2.3-pre.1", "v1.2.3-pre.1"),
        ("v1.2.3-zzz", "v1.2.3-zzz"),
        ("v1.2.3", "v1.2.3"),
        ("v1.2.3+meta", "v1.2.3"),
        ("v1.2.3+meta-pre", "v1.2.3"),
        ("v1.2.3+meta-pre.sha.256a", "v1.2.3"),
    ];

    #[test]
    fn go_is_valid_table() {
        for &(input, canonical) in GO_SEMVER_TESTS {
            assert_eq!(
                is_valid_semver(input),
                !canonical.is_empty(),
                "is_valid_semver({input:?})"
            );
        }
    }

    #[test]
    fn go_canonical_table() {
        // Without +incompatible in the table, CanonicalVersion(v) == v is
        // exactly "Go's canonical form equals the input".
        for &(input, canonical) in GO_SEMVER_TESTS {
            assert_eq!(
                is_canonical(input),
                !canonical.is_empty() && canonical == input,
                "is_canonical({input:?})"
            );
        }
    }

    #[test]
    fn extra_validity_cases() {
        let cases: &[(&str, bool)] = &[
            ("", false),
            ("v", false),
            ("1.2.3", false),
            ("V1.2.3", false),
            ("v01.2.3", false),
            ("v1.02.3", false),
            ("v1.2.03", false),
            ("v0.0.0", true),
            ("v10.20.30", true),
            ("v1.2.3.4", false),
            ("v1.2.3-", false),
            ("v1.2.3+", false),
            ("v1.2.3-a..b", false),
            ("v1.2.3+a..b", false),
            ("v1.2.3-01", false),
            ("v1.2.3-0", true),
            ("v1.2.3-0a", true),
            ("v1.2.3-a_b", false),
            ("v1.2.3+0001", true),
            ("v2.0.0+incompatible", true),
            ("v0.0.0-20190510104115-cbcb75029529", true),
            ("v1.2.3 ", false),
            ("v1.2.3-☺", false),
            ("master", false),
            ("latest", false),
        ];
        for &(v, want) in cases {
            assert_eq!(is_valid_semver(v), want, "is_valid_semver({v:?})");
        }
    }

    #[test]
    fn canonical_keeps_incompatible() {
        assert!(is_canonical("v2.0.0+incompatible"));
        assert!(is_canonical("v2.0.0-pre+incompatible"));
        assert!(!is_canonical("v2.0.0+meta"));
        assert!(!is_canonical("v2+incompatible"));
        assert!(!is_canonical("v2.0+incompatible"));
        assert!(is_canonical("v0.0.0-20190510104115-cbcb75029529"));
    }

    #[test]
    fn compare_orders_as_go_semver_does() {
        let sorted = [
            "v0.0.0-20190101000000-abcdefabcdef",
            "v0.9.0",
            "v1.0.0-alpha",
            "v1.0.0-alpha.1",
            "v1.0.0-alpha.beta",
            "v1.0.0-beta.2",
            "v1.0.0-beta.11",
            "v1.0.0-rc.1",
            "v1.0.0",
            "v1.2.0",
            "v1.10.0",
            "v2.0.0+incompatible",
            "v10.0.0",
        ];
        for (i, a) in sorted.iter().enumerate() {
            for (j, b) in sorted.iter().enumerate() {
                assert_eq!(super::compare(a, b), i.cmp(&j), "{a} vs {b}");
            }
        }
    }
}
