//! `${NAME}` in any string value, replaced by the environment variable NAME at load
//! time, so secrets never live in the file.

use serde_yaml::Value;
use std::borrow::Cow;

pub fn expand<'a>(
    text: &'a str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Cow<'a, str>, String> {
    if !text.contains("${") {
        return Ok(Cow::Borrowed(text));
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| format!("unclosed \"${{\" in {text:?}: write ${{NAME}}"))?;
        let name = &after[..end];
        let valid =
            !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !valid {
            return Err(format!(
                "invalid variable name {name:?} in {text:?}: use letters, digits and _"
            ));
        }
        let value = lookup(name).ok_or_else(|| {
            format!("environment variable {name} is not set: export it before starting modgate")
        })?;
        out.push_str(&value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(Cow::Owned(out))
}

/// Expands every string value (never a mapping key) below `value`, collecting one
/// `(path, message)` per failure so that all of them are reported at once.
pub fn expand_tree(
    value: &mut Value,
    path: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    errors: &mut Vec<(String, String)>,
) {
    match value {
        Value::String(text) => match expand(text, lookup) {
            Ok(Cow::Owned(expanded)) => *text = expanded,
            Ok(Cow::Borrowed(_)) => {}
            Err(message) => errors.push((path.to_string(), message)),
        },
        Value::Sequence(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                expand_tree(item, &format!("{path}[{i}]"), lookup, errors);
            }
        }
        Value::Mapping(map) => {
            for (key, item) in map.iter_mut() {
                let key = match key {
                    Value::String(key) => key.clone(),
                    other => serde_yaml::to_string(other)
                        .unwrap_or_default()
                        .trim()
                        .to_string(),
                };
                let child = if path.is_empty() {
                    key
                } else {
                    format!("{path}.{key}")
                };
                expand_tree(item, &child, lookup, errors);
            }
        }
        Value::Tagged(tagged) => expand_tree(&mut tagged.value, path, lookup, errors),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        (name == "TOKEN").then(|| "s3cret".to_string())
    }

    #[test]
    fn variables_are_replaced() {
        assert_eq!(
            expand("Bearer ${TOKEN}", &env).as_deref(),
            Ok("Bearer s3cret")
        );
        assert_eq!(
            expand("${TOKEN}${TOKEN}", &env).as_deref(),
            Ok("s3crets3cret")
        );
        assert_eq!(expand("cost $5", &env).as_deref(), Ok("cost $5"));
    }

    #[test]
    fn a_missing_variable_is_named() {
        let error = expand("${NOPE}", &env).expect_err("missing");
        assert!(
            error.contains("environment variable NOPE is not set"),
            "{error}"
        );
    }

    #[test]
    fn malformed_references_are_refused() {
        assert!(expand("${TOKEN", &env)
            .expect_err("unclosed")
            .contains("unclosed"));
        assert!(expand("${A-B}", &env)
            .expect_err("name")
            .contains("invalid variable name"));
    }

    #[test]
    fn tree_errors_carry_their_path() {
        let mut value: Value =
            serde_yaml::from_str("pools:\n  p:\n    headers:\n      A: ${NOPE}\n").expect("yaml");
        let mut errors = Vec::new();
        expand_tree(&mut value, "", &env, &mut errors);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].0, "pools.p.headers.A");
    }
}
