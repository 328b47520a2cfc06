//! Module path patterns with the semantics of `GOPRIVATE`/`GONOPROXY`.
//!
//! Users already know these globs from the go command, so routes use the
//! very same matching rule (`golang.org/x/mod/module.MatchPrefixPatterns`,
//! built on Go's `path.Match`) rather than an ad-hoc prefix or regex syntax.
//!
//! The rule: a glob with N slashes is matched, as a whole, against the first
//! N+1 elements of the module path, and `*` never crosses a `/`. Hence:
//!
//! * `*.corp.example.com` matches `git.corp.example.com/x/y`: the glob has no
//!   slash, so it is compared with the first element only,
//!   `git.corp.example.com`, and `*` matches `git`. The `/x/y` that follows
//!   is a sub-path of a matching prefix, which is what makes one glob cover a
//!   whole host.
//! * `corp.example.com` does not match `corp.example.com.evil/x`: the glob is
//!   compared with the complete first element, `corp.example.com.evil`,
//!   never with a string prefix of it. Matching only ever stops at a `/`
//!   boundary, so a look-alike host cannot borrow another host's route.

use std::fmt;

/// A glob that is not a valid `path.Match` pattern, such as `a[` or `[z-a`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadPattern {
    pattern: String,
}

impl BadPattern {
    /// The offending glob.
    pub fn pattern(&self) -> &str {
        &self.pattern
    }
}

impl fmt::Display for BadPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "malformed module pattern {}: syntax error in pattern",
            crate::module::escape::Quoted(&self.pattern)
        )
    }
}

impl std::error::Error for BadPattern {}

/// Internal, allocation-free form of [`BadPattern`] for the matcher.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Malformed;

/// Go's `path.Match`: reports whether `name` matches the shell pattern.
///
/// `*` matches any run of non-`/` characters, `?` one non-`/` character,
/// `[...]` a character class (ranges `a-z`, negation `[^...]`), and `\`
/// escapes the next character. A malformed pattern is an error whatever
/// `name` is, exactly as in Go since 1.16.
pub fn path_match(pattern: &str, name: &str) -> Result<bool, BadPattern> {
    match_bytes(pattern.as_bytes(), name.as_bytes()).map_err(|Malformed| BadPattern {
        pattern: pattern.to_owned(),
    })
}

/// Go's `module.MatchPrefixPatterns`: reports whether some path prefix of
/// `target` matches one of the comma-separated `globs`. Empty entries are
/// skipped, a trailing `/` on a glob is ignored and a malformed glob matches
/// nothing.
pub fn match_prefix_patterns(globs: &str, target: &str) -> bool {
    split_globs(globs).any(|glob| {
        let slashes = glob.bytes().filter(|&b| b == b'/').count();
        match leading_elements(target, slashes) {
            Some(prefix) => match_bytes(glob.as_bytes(), prefix.as_bytes()) == Ok(true),
            None => false,
        }
    })
}

/// The comma-separated, trailing-slash-trimmed, non-empty globs of a list,
/// in Go's order.
fn split_globs(globs: &str) -> impl Iterator<Item = &str> {
    globs
        .split(',')
        .map(|g| g.strip_suffix('/').unwrap_or(g))
        .filter(|g| !g.is_empty())
}

/// The first `slashes + 1` elements of `target`, or `None` when it has fewer.
fn leading_elements(target: &str, slashes: usize) -> Option<&str> {
    let mut remaining = slashes;
    for (i, b) in target.bytes().enumerate() {
        if b == b'/' {
            if remaining == 0 {
                return Some(&target[..i]);
            }
            remaining -= 1;
        }
    }
    if remaining == 0 {
        Some(target)
    } else {
        None
    }
}

/// One path element of a glob, as [`ModulePatterns::index_paths`] gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Element<'a> {
    /// Matches only itself.
    Literal(&'a str),
    /// Has `*` or `?`: matches an element as `path.Match` does.
    Wild(&'a str),
}

/// A set of module globs compiled once from configuration and matched per
/// request, with the semantics of [`match_prefix_patterns`].
#[derive(Debug, Clone, Default)]
pub struct ModulePatterns {
    globs: Vec<Glob>,
}

#[derive(Debug, Clone)]
struct Glob {
    text: Box<str>,
    /// Number of `/` in `text`: the glob covers `slashes + 1` elements.
    slashes: usize,
    /// No `*`, `?`, `[` or `\`: `path.Match` degenerates to equality, so the
    /// glob can be tested as a prefix ending at a `/` or at the end.
    literal: bool,
}

impl ModulePatterns {
    /// For every glob, its path elements up to the first with a character class or
    /// an escape: a module matches the glob only if its leading elements match these
    /// one by one (a `*` or `?` never matches a `/`), which lets a route table index
    /// routes by them.
    pub fn index_paths(&self) -> Vec<Vec<Element<'_>>> {
        self.globs
            .iter()
            .map(|glob| {
                glob.text
                    .split('/')
                    .take_while(|element| !element.contains(['[', '\\']))
                    .map(|element| {
                        if element.contains(['*', '?']) {
                            Element::Wild(element)
                        } else {
                            Element::Literal(element)
                        }
                    })
                    .collect()
            })
            .collect()
    }

    /// Compiles globs as they come from configuration. Each entry may itself
    /// be a comma-separated list, as in `GOPRIVATE`; empty entries are
    /// skipped and a trailing `/` is ignored, as the go command does. Unlike
    /// the go command, which silently never matches a malformed glob, this
    /// refuses it: a typo in a route would otherwise disable the route.
    pub fn new<S: AsRef<str>>(globs: &[S]) -> Result<ModulePatterns, BadPattern> {
        let mut compiled = Vec::new();
        for entry in globs {
            for glob in split_globs(entry.as_ref()) {
                validate(glob.as_bytes()).map_err(|Malformed| BadPattern {
                    pattern: glob.to_owned(),
                })?;
                compiled.push(Glob {
                    text: glob.into(),
                    slashes: glob.bytes().filter(|&b| b == b'/').count(),
                    literal: !glob
                        .bytes()
                        .any(|b| matches!(b, b'*' | b'?' | b'[' | b'\\')),
                });
            }
        }
        Ok(ModulePatterns { globs: compiled })
    }

    /// Reports whether `module` (an unescaped module path) matches any glob.
    pub fn matches(&self, module: &str) -> bool {
        self.globs.iter().any(|glob| glob.matches(module))
    }

    /// True when there are no globs, so that nothing matches.
    pub fn is_empty(&self) -> bool {
        self.globs.is_empty()
    }
}

impl Glob {
    fn matches(&self, module: &str) -> bool {
        if self.literal {
            let text = self.text.as_bytes();
            let module = module.as_bytes();
            return module.starts_with(text)
                && (module.len() == text.len() || module[text.len()] == b'/');
        }
        match leading_elements(module, self.slashes) {
            // Validated in `new`, so the error arm cannot be taken.
            Some(prefix) => match_bytes(self.text.as_bytes(), prefix.as_bytes()) == Ok(true),
            None => false,
        }
    }
}

/// Checks every chunk of a pattern for syntax errors. Go's `path.Match`
/// parses each chunk completely whether or not it matches, so its errors do
/// not depend on the name, and this is exactly the set of patterns for which
/// it can fail.
fn validate(mut pattern: &[u8]) -> Result<(), Malformed> {
    while !pattern.is_empty() {
        let (_, chunk, rest) = scan_chunk(pattern);
        pattern = rest;
        match_chunk(chunk, b"")?;
    }
    Ok(())
}

// The matcher below works on bytes, as Go's does: literals compare byte by
// byte, `?` and classes decode one rune, and a star may resume matching in
// the middle of a multi-byte character. Working on `str` would make those
// positions panics instead of plain mismatches.

const RUNE_ERROR: u32 = 0xFFFD;

/// Go's `utf8.DecodeRuneInString`: the rune and its width, or
/// (`RUNE_ERROR`, 1) for an invalid sequence and (`RUNE_ERROR`, 0) at the end.
fn decode_rune(s: &[u8]) -> (u32, usize) {
    let Some(&b0) = s.first() else {
        return (RUNE_ERROR, 0);
    };
    let width = match b0 {
        0x00..=0x7F => return (u32::from(b0), 1),
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF4 => 4,
        _ => return (RUNE_ERROR, 1),
    };
    match s.get(..width).map(std::str::from_utf8) {
        Some(Ok(text)) => match text.chars().next() {
            Some(c) => (u32::from(c), width),
            None => (RUNE_ERROR, 1),
        },
        _ => (RUNE_ERROR, 1),
    }
}

/// Go's `path.Match` over bytes.
fn match_bytes(mut pattern: &[u8], mut name: &[u8]) -> Result<bool, Malformed> {
    'pattern: while !pattern.is_empty() {
        let (star, chunk, rest) = scan_chunk(pattern);
        pattern = rest;
        if star && chunk.is_empty() {
            // A trailing star matches the rest of the name unless it has a /.
            return Ok(!name.contains(&b'/'));
        }
        // Try the chunk at the current position. The last chunk must use up
        // the whole name; if it does not, a star may still find a later
        // position that does.
        let (t, ok) = match_chunk(chunk, name)?;
        if ok && (t.is_empty() || !pattern.is_empty()) {
            name = t;
            continue;
        }
        if star {
            // Let the star swallow i+1 bytes, but never a '/'.
            let mut i = 0;
            while i < name.len() && name[i] != b'/' {
                let (t, ok) = match_chunk(chunk, &name[i + 1..])?;
                if ok && (pattern.is_empty() && !t.is_empty()) {
                    i += 1;
                    continue;
                }
                if ok {
                    name = t;
                    continue 'pattern;
                }
                i += 1;
            }
        }
        // No match; still report a syntax error in the rest of the pattern.
        validate(pattern)?;
        return Ok(false);
    }
    Ok(name.is_empty())
}

/// Go's `scanChunk`: splits off leading stars and the following run of
/// non-star terms (a `*` inside a class does not end the run).
fn scan_chunk(mut pattern: &[u8]) -> (bool, &[u8], &[u8]) {
    let mut star = false;
    while let Some((&b'*', rest)) = pattern.split_first() {
        pattern = rest;
        star = true;
    }
    let mut in_range = false;
    let mut i = 0;
    while i < pattern.len() {
        match pattern[i] {
            // A dangling backslash is reported by match_chunk.
            b'\\' if i + 1 < pattern.len() => i += 1,
            b'[' => in_range = true,
            b']' => in_range = false,
            b'*' if !in_range => return (star, &pattern[..i], &pattern[i..]),
            _ => {}
        }
        i += 1;
    }
    (star, pattern, &[])
}

/// Go's `matchChunk`: matches a star-free chunk against the start of `s`,
/// returning the unmatched rest. After a mismatch it keeps parsing the
/// chunk, without reading `s`, so that syntax errors are always found.
fn match_chunk<'s>(mut chunk: &[u8], mut s: &'s [u8]) -> Result<(&'s [u8], bool), Malformed> {
    let mut failed = false;
    while let Some(&c) = chunk.first() {
        if !failed && s.is_empty() {
            failed = true;
        }
        match c {
            b'[' => {
                let mut r = 0;
                if !failed {
                    let (rune, width) = decode_rune(s);
                    r = rune;
                    s = &s[width..];
                }
                chunk = &chunk[1..];
                let mut negated = false;
                if let Some((&b'^', rest)) = chunk.split_first() {
                    negated = true;
                    chunk = rest;
                }
                let mut matched = false;
                let mut ranges = 0;
                loop {
                    if ranges > 0 {
                        if let Some((&b']', rest)) = chunk.split_first() {
                            chunk = rest;
                            break;
                        }
                    }
                    let (lo, rest) = get_esc(chunk)?;
                    chunk = rest;
                    let mut hi = lo;
                    if let Some((&b'-', rest)) = chunk.split_first() {
                        let (h, rest) = get_esc(rest)?;
                        hi = h;
                        chunk = rest;
                    }
                    if lo <= r && r <= hi {
                        matched = true;
                    }
                    ranges += 1;
                }
                if matched == negated {
                    failed = true;
                }
            }
            b'?' => {
                if !failed {
                    if s[0] == b'/' {
                        failed = true;
                    }
                    let (_, width) = decode_rune(s);
                    s = &s[width..];
                }
                chunk = &chunk[1..];
            }
            _ => {
                let literal = if c == b'\\' {
                    chunk = &chunk[1..];
                    match chunk.first() {
                        Some(&escaped) => escaped,
                        None => return Err(Malformed),
                    }
                } else {
                    c
                };
                if !failed {
                    if literal != s[0] {
                        failed = true;
                    }
                    s = &s[1..];
                }
                chunk = &chunk[1..];
            }
        }
    }
    if failed {
        Ok((&[], false))
    } else {
        Ok((s, true))
    }
}

/// Go's `getEsc`: one possibly escaped character of a class, which must be
/// followed by more of the class.
fn get_esc(chunk: &[u8]) -> Result<(u32, &[u8]), Malformed> {
    let chunk = match chunk.split_first() {
        None | Some((b'-' | b']', _)) => return Err(Malformed),
        Some((b'\\', [])) => return Err(Malformed),
        Some((b'\\', rest)) => rest,
        Some(_) => chunk,
    };
    let (r, width) = decode_rune(chunk);
    if r == RUNE_ERROR && width == 1 {
        return Err(Malformed);
    }
    let rest = &chunk[width..];
    if rest.is_empty() {
        return Err(Malformed);
    }
    Ok((r, rest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Go's `matchTests` (path/match_test.go): pattern, name, match, and
    /// whether Go reports `ErrBadPattern`.
    const GO_MATCH_TESTS: &[(&str, &str, bool, bool)] = &[
        ("abc", "abc", true, false),
        ("*", "abc", true, false),
        ("*c", "abc", true, false),
        ("a*", "a", true, false),
        ("a*", "abc", true, false),
        ("a*", "ab/c", false, false),
        ("a*/b", "abc/b", true, false),
        ("a*/b", "a/c/b", false, false),
        ("a*b*c*d*e*/f", "axbxcxdxe/f", true, false),
        ("a*b*c*d*e*/f", "axbxcxdxexxx/f", true, false),
        ("a*b*c*d*e*/f", "axbxcxdxe/xxx/f", false, false),
        ("a*b*c*d*e*/f", "axbxcxdxexxx/fff", false, false),
        ("a*b?c*x", "abxbbxdbxebxczzx", true, false),
        ("a*b?c*x", "abxbbxdbxebxczzy", false, false),
        ("ab[c]", "abc", true, false),
        ("ab[b-d]", "abc", true, false),
        ("ab[e-g]", "abc", false, false),
        ("ab[^c]", "abc", false, false),
        ("ab[^b-d]", "abc", false, false),
        ("ab[^e-g]", "abc", true, false),
        ("a\\*b", "a*b", true, false),
        ("a\\*b", "ab", false, false),
        ("a?b", "a☺b", true, false),
        ("a[^a]b", "a☺b", true, false),
        ("a???b", "a☺b", false, false),
        ("a[^a][^a][^a]b", "a☺b", false, false),
        ("[a-ζ]*", "α", true, false),
        ("*[a-ζ]", "A", false, false),
        ("a?b", "a/b", false, false),
        ("a*b", "a/b", false, false),
        ("[\\]a]", "]", true, false),
        ("[\\-]", "-", true, false),
        ("[x\\-]", "x", true, false),
        ("[x\\-]", "-", true, false),
        ("[x\\-]", "z", false, false),
        ("[\\-x]", "x", true, false),
        ("[\\-x]", "-", true, false),
        ("[\\-x]", "a", false, false),
        ("[]a]", "]", false, true),
        ("[-]", "-", false, true),
        ("[x-]", "x", false, true),
        ("[x-]", "-", false, true),
        ("[x-]", "z", false, true),
        ("[-x]", "x", false, true),
        ("[-x]", "-", false, true),
        ("[-x]", "a", false, true),
        ("\\", "a", false, true),
        ("[a-b-c]", "a", false, true),
        ("[", "a", false, true),
        ("[^", "a", false, true),
        ("[^bc", "a", false, true),
        ("a[", "a", false, true),
        ("a[", "ab", false, true),
        ("a[", "x", false, true),
        ("a/b[", "x", false, true),
        ("*x", "xxx", true, false),
    ];

    /// Go's `TestMatchPrefixPatterns` table (current x/mod, which ignores a
    /// trailing slash on a glob).
    const GO_PREFIX_TESTS: &[(&str, &str, bool)] = &[
        ("", "rsc.io/quote", false),
        ("/", "rsc.io/quote", false),
        ("*/quote", "rsc.io/quote", true),
        ("*/quo", "rsc.io/quote", false),
        ("*/quo??", "rsc.io/quote", true),
        ("*/quo*", "rsc.io/quote", true),
        ("*quo*", "rsc.io/quote", false),
        ("rsc.io", "rsc.io/quote", true),
        ("*.io", "rsc.io/quote", true),
        ("rsc.io/", "rsc.io/quote", true),
        ("rsc", "rsc.io/quote", false),
        ("rsc*", "rsc.io/quote", true),
        ("rsc.io", "rsc.io/quote/v3", true),
        ("*/quote", "rsc.io/quote/v3", true),
        ("*/quote/", "rsc.io/quote/v3", true),
        ("*/quote/*", "rsc.io/quote/v3", true),
        ("*/quote/*/", "rsc.io/quote/v3", true),
        ("*/v3", "rsc.io/quote/v3", false),
        ("*/*/v3", "rsc.io/quote/v3", true),
        ("*/*/*", "rsc.io/quote/v3", true),
        ("*/*/*/", "rsc.io/quote/v3", true),
        ("*/*/*", "rsc.io/quote", false),
        ("*/*/*/", "rsc.io/quote", false),
        ("*/*/*,,", "rsc.io/quote", false),
        ("*/*/*,,*/quote", "rsc.io/quote", true),
        (",,*/quote", "rsc.io/quote", true),
    ];

    #[test]
    fn go_path_match_table() {
        for &(pattern, name, want, bad) in GO_MATCH_TESTS {
            let got = path_match(pattern, name);
            if bad {
                assert_eq!(
                    got,
                    Err(BadPattern {
                        pattern: pattern.to_owned()
                    }),
                    "path_match({pattern:?}, {name:?})"
                );
            } else {
                assert_eq!(got, Ok(want), "path_match({pattern:?}, {name:?})");
            }
        }
    }

    #[test]
    fn go_match_prefix_patterns_table() {
        for &(globs, target, want) in GO_PREFIX_TESTS {
            assert_eq!(
                match_prefix_patterns(globs, target),
                want,
                "match_prefix_patterns({globs:?}, {target:?})"
            );
            let compiled = ModulePatterns::new(&[globs]).expect("table globs are valid");
            assert_eq!(compiled.matches(target), want, "{globs:?} ~ {target:?}");
        }
    }

    #[test]
    fn validation_agrees_with_go_errors() {
        for &(pattern, _, _, bad) in GO_MATCH_TESTS {
            assert_eq!(validate(pattern.as_bytes()).is_err(), bad, "{pattern:?}");
        }
    }

    #[test]
    fn host_globs_respect_element_boundaries() {
        let p = ModulePatterns::new(&["*.corp.example.com", "corp.example.com"]).unwrap();
        assert!(p.matches("git.corp.example.com/x/y"));
        assert!(p.matches("corp.example.com"));
        assert!(p.matches("corp.example.com/team/lib"));
        assert!(!p.matches("corp.example.com.evil/x"));
        assert!(!p.matches("evilcorp.example.com/x"));
        assert!(!p.matches("git.corp.example.com.evil/x"));
        assert!(p.matches("a.b.corp.example.com/x"));
        assert!(!p.matches("example.com/corp.example.com"));
    }

    #[test]
    fn literal_multi_element_globs() {
        let p = ModulePatterns::new(&["github.com/acme", "gitlab.com/a/b/"]).unwrap();
        assert!(p.matches("github.com/acme"));
        assert!(p.matches("github.com/acme/tool/v2"));
        assert!(!p.matches("github.com/acme-evil/tool"));
        assert!(!p.matches("github.com/acm"));
        assert!(!p.matches("github.com"));
        assert!(p.matches("gitlab.com/a/b/c"));
        assert!(!p.matches("gitlab.com/a/bc"));
    }

    #[test]
    fn entries_may_be_comma_lists_and_empty() {
        let p = ModulePatterns::new(&["a.com,,b.com/x", "", ","]).unwrap();
        assert!(p.matches("a.com/y"));
        assert!(p.matches("b.com/x/z"));
        assert!(!p.matches("b.com/y"));
        let empty = ModulePatterns::new::<&str>(&[]).unwrap();
        assert!(empty.is_empty());
        assert!(!empty.matches("a.com"));
        assert!(ModulePatterns::new(&["", ",,", "/"]).unwrap().is_empty());
    }

    #[test]
    fn malformed_globs_are_named() {
        let err = ModulePatterns::new(&["ok.com", "good.com,bad[.com"]).unwrap_err();
        assert_eq!(err.pattern(), "bad[.com");
        assert_eq!(
            err.to_string(),
            "malformed module pattern \"bad[.com\": syntax error in pattern"
        );
        assert!(ModulePatterns::new(&["x\\"]).is_err());
        assert!(ModulePatterns::new(&["[z-]"]).is_err());
        // Go ignores the malformed glob but still tries the others.
        assert!(match_prefix_patterns("bad[.com,good.com", "good.com/x"));
        assert!(!match_prefix_patterns("bad[.com", "bad[.com"));
    }

    #[test]
    fn escapes_and_classes_in_globs() {
        let p = ModulePatterns::new(&["example.com/\\*", "[a-c].io/x?"]).unwrap();
        assert!(p.matches("example.com/*/y"));
        assert!(!p.matches("example.com/a"));
        assert!(p.matches("b.io/xy/z"));
        assert!(!p.matches("d.io/xy"));
        assert!(!p.matches("b.io/x"));
    }

    #[test]
    fn star_resumes_inside_multibyte_characters_without_panicking() {
        // Go's star loop skips bytes, not runes.
        assert_eq!(path_match("*\u{FFFD}", "\u{263A}"), Ok(false));
        assert_eq!(path_match("*[^a]", "☺☺"), Ok(true));
        assert_eq!(path_match("*?", "é"), Ok(true));
        assert_eq!(path_match("*\u{BA}", "\u{263A}"), Ok(false));
    }

    fn glob_strategy() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            prop_oneof![
                Just("a"),
                Just("b"),
                Just("."),
                Just("/"),
                Just("*"),
                Just("?"),
                Just("["),
                Just("]"),
                Just("^"),
                Just("-"),
                Just("\\"),
                Just(","),
                Just("é"),
                Just("[a-b]"),
                Just("[^a]"),
            ],
            0..10,
        )
        .prop_map(|parts| parts.concat())
    }

    fn target_strategy() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            prop_oneof![
                Just("a"),
                Just("b"),
                Just("."),
                Just("/"),
                Just("*"),
                Just("é"),
                Just("-"),
                Just("]"),
            ],
            0..12,
        )
        .prop_map(|parts| parts.concat())
    }

    proptest! {
        #[test]
        fn compiled_patterns_agree_with_go_algorithm(
            glob in glob_strategy(),
            target in target_strategy(),
        ) {
            match ModulePatterns::new(&[&glob]) {
                Ok(compiled) => prop_assert_eq!(
                    compiled.matches(&target),
                    match_prefix_patterns(&glob, &target)
                ),
                Err(err) => {
                    // Only ever refuse what path.Match itself refuses.
                    prop_assert!(path_match(err.pattern(), &target).is_err());
                }
            }
        }

        #[test]
        fn path_match_errors_do_not_depend_on_name(
            pattern in glob_strategy(),
            a in target_strategy(),
            b in target_strategy(),
        ) {
            prop_assert_eq!(path_match(&pattern, &a).is_err(), path_match(&pattern, &b).is_err());
            prop_assert_eq!(path_match(&pattern, &a).is_err(), validate(pattern.as_bytes()).is_err());
        }

        #[test]
        fn literal_globs_match_themselves_and_sub_paths(
            host in "[a-z]{1,5}\\.[a-z]{2,3}",
            rest in "(/[a-z0-9]{1,4}){0,3}",
        ) {
            let p = ModulePatterns::new(&[&host]).unwrap();
            let target = format!("{host}{rest}");
            prop_assert!(p.matches(&target));
            let evil = format!("{host}x{rest}");
            prop_assert!(!p.matches(&evil));
        }
    }
}
