//! Module globs (GOPRIVATE semantics) on any glob list and module path: compiled
//! patterns agree with Go's `MatchPrefixPatterns` algorithm, a refused glob is one
//! `path.Match` itself refuses (whatever the name), `path.Match` errors never depend on
//! the name, and a glob without wildcards matches itself and its sub-paths only at a
//! `/` boundary. Input: the glob list, a newline, the module path.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modgate::module::{match_prefix_patterns, path_match, ModulePatterns};

fuzz_target!(|text: &str| {
    let (globs, target) = text.split_once('\n').unwrap_or((text, "a.com/b"));
    let match_error = path_match(globs, target).is_err();
    assert_eq!(match_error, path_match(globs, "").is_err(), "{globs:?}");
    assert_eq!(match_error, path_match(globs, "x/y").is_err(), "{globs:?}");
    match ModulePatterns::new(&[globs]) {
        Ok(compiled) => {
            assert_eq!(
                compiled.matches(target),
                match_prefix_patterns(globs, target),
                "{globs:?} ~ {target:?}"
            );
        }
        Err(bad) => {
            assert!(globs
                .split(',')
                .any(|g| g.strip_suffix('/').unwrap_or(g) == bad.pattern()));
            assert!(path_match(bad.pattern(), target).is_err(), "{bad}");
            assert!(!bad.to_string().contains('\n'));
        }
    }
    let literal =
        !globs.is_empty() && !globs.contains([',', '*', '?', '[', '\\']) && !globs.ends_with('/');
    if literal {
        assert_eq!(path_match(globs, globs), Ok(true), "{globs:?}");
        let compiled = ModulePatterns::new(&[globs]).expect("a literal glob compiles");
        assert!(compiled.matches(globs));
        assert!(compiled.matches(&format!("{globs}/sub")));
        let want = target == globs || target.starts_with(&format!("{globs}/"));
        assert_eq!(compiled.matches(target), want, "{globs:?} ~ {target:?}");
    }
});
