//! What MongoDB can store: the whole body goes into the job record, unknown fields included,
//! so every field name at every depth must be storable. Refused (422, naming the field):
//! - a NUL character (U+0000) in a field name: BSON field names are C strings;
//! - nesting deeper than [`MAX_DEPTH`]: MongoDB refuses documents nested deeper than 100
//!   levels, and the record adds its own.
//!
//! Values may hold anything JSON can (BSON strings carry NUL characters and any unicode).

use serde_json::{Map, Value};

use super::Problem;

/// The deepest nesting of objects and arrays a body may have.
pub const MAX_DEPTH: usize = 64;

/// The first field of a body (a JSON object) that cannot be stored, as a problem naming it.
pub fn check_storable(body: &Map<String, Value>) -> Result<(), Problem> {
    walk_object(body, &mut Vec::new(), 1)
}

/// One step of the path to a field; the path is only spelled out for a problem.
enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

fn walk_object<'a>(
    map: &'a Map<String, Value>,
    path: &mut Vec<Step<'a>>,
    depth: usize,
) -> Result<(), Problem> {
    too_deep(path, depth)?;
    for (key, child) in map {
        path.push(Step::Key(key));
        if key.contains('\0') {
            return Err(Problem(format!(
                "{}: a field name contains a NUL character (U+0000), which cannot be stored",
                spelled(path)
            )));
        }
        walk(child, path, depth)?;
        path.pop();
    }
    Ok(())
}

fn walk<'a>(v: &'a Value, path: &mut Vec<Step<'a>>, depth: usize) -> Result<(), Problem> {
    match v {
        Value::Object(map) => walk_object(map, path, depth + 1),
        Value::Array(items) => {
            too_deep(path, depth + 1)?;
            for (i, child) in items.iter().enumerate() {
                path.push(Step::Index(i));
                walk(child, path, depth + 1)?;
                path.pop();
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// `body.a.b[0]."k\0"`: the path as messages show it.
fn spelled(path: &[Step<'_>]) -> String {
    let mut out = String::from("body");
    for step in path {
        match step {
            Step::Key(key) => {
                out.push('.');
                out.push_str(&shown(key));
            }
            Step::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

fn too_deep(path: &[Step<'_>], depth: usize) -> Result<(), Problem> {
    if depth > MAX_DEPTH {
        return Err(Problem(format!(
            "{}: nested deeper than {MAX_DEPTH} levels, which cannot be stored",
            spelled(path)
        )));
    }
    Ok(())
}

/// A field name as messages show it: plain when it is a simple word, else quoted and escaped,
/// at most 40 characters.
fn shown(key: &str) -> String {
    let simple = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    let short: String = key.chars().take(40).collect();
    let cut = if short.len() < key.len() { "…" } else { "" };
    if simple {
        format!("{short}{cut}")
    } else {
        format!("{short:?}{cut}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check_storable(v: &Value) -> Result<(), Problem> {
        super::check_storable(v.as_object().expect("an object"))
    }

    #[test]
    fn a_nul_in_a_field_name_is_refused_at_any_depth() {
        let top = json!({"a": 1, "\u{0}": 1});
        assert_eq!(
            check_storable(&top).unwrap_err().0,
            "body.\"\\0\": a field name contains a NUL character (U+0000), which cannot be stored"
        );
        let deep = json!({"channels": {"min": 1, "x": [{"ok\u{0}k": true}]}});
        assert!(
            check_storable(&deep)
                .unwrap_err()
                .0
                .starts_with("body.channels.x[0].\"ok\\0k\": a field name contains a NUL")
        );
    }

    #[test]
    fn values_and_unicode_names_are_storable() {
        let body = json!({"ключ": "a\u{0}b", "😀": ["\u{0}"], "$x": {"a.b": null}});
        assert_eq!(check_storable(&body), Ok(()));
    }

    #[test]
    fn nesting_is_bounded() {
        let mut v = json!(1);
        for _ in 0..MAX_DEPTH - 1 {
            v = json!([v]);
        }
        assert_eq!(check_storable(&json!({ "k": v })), Ok(()));
        let too_deep = json!({ "k": [v] });
        assert!(
            check_storable(&too_deep)
                .unwrap_err()
                .0
                .contains("nested deeper than 64")
        );
    }
}
