//! Equality-based label selectors (`app=mongodb,tier=db`): what a workload's pods carry, what a
//! NetworkPolicy's `podSelector.matchLabels` needs.

use std::collections::BTreeMap;

/// A parsed equality-based label selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selector {
    labels: BTreeMap<String, String>,
}

impl Selector {
    /// Parses `key=value` pairs separated by commas (`==` is accepted for `=`). Set-based
    /// forms (`in`, `notin`, `!=`, bare keys) are refused: a NetworkPolicy's `matchLabels` and
    /// the runner's steady-state checks need exact labels.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut labels = BTreeMap::new();
        for part in text.split(',').map(str::trim) {
            if part.is_empty() {
                return Err("an empty term; write key=value pairs separated by commas".into());
            }
            if part.contains("!=") || part.contains(" in ") || part.contains(" notin ") {
                return Err(format!(
                    "{part:?} is set-based; only key=value terms are supported"
                ));
            }
            let (key, value) = part
                .split_once("==")
                .or_else(|| part.split_once('='))
                .ok_or_else(|| format!("{part:?} is not key=value"))?;
            let (key, value) = (key.trim(), value.trim());
            if !valid_key(key) {
                return Err(format!("{key:?} is not a valid label key"));
            }
            if !valid_value(value) {
                return Err(format!("{value:?} is not a valid label value"));
            }
            labels.insert(key.to_owned(), value.to_owned());
        }
        Ok(Self { labels })
    }

    /// The labels, for `matchLabels`.
    pub fn labels(&self) -> &BTreeMap<String, String> {
        &self.labels
    }

    /// Whether an object with `labels` is selected.
    pub fn matches(&self, labels: Option<&BTreeMap<String, String>>) -> bool {
        self.labels
            .iter()
            .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
    }
}

impl std::fmt::Display for Selector {
    /// The canonical `k=v,k=v` form, for `labelSelector=` queries.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let terms: Vec<String> = self
            .labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        f.write_str(&terms.join(","))
    }
}

fn valid_key(key: &str) -> bool {
    let name = match key.rsplit_once('/') {
        Some((prefix, name)) => {
            if prefix.is_empty() || prefix.len() > 253 {
                return false;
            }
            name
        }
        None => key,
    };
    !name.is_empty() && valid_value(name)
}

/// A label value: at most 63 characters, alphanumerics with `-`, `_` and `.` inside.
pub fn valid_value(value: &str) -> bool {
    value.len() <= 63
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && value
            .chars()
            .next()
            .is_none_or(|c| c.is_ascii_alphanumeric())
        && value
            .chars()
            .last()
            .is_none_or(|c| c.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_parse_and_print_canonically() {
        let s = Selector::parse("tier == db, app=mongodb").unwrap();
        assert_eq!(s.to_string(), "app=mongodb,tier=db");
        let labels: BTreeMap<String, String> = [("app", "mongodb"), ("tier", "db"), ("x", "y")]
            .map(|(k, v)| (k.into(), v.into()))
            .into();
        assert!(s.matches(Some(&labels)));
        assert!(!Selector::parse("app=other").unwrap().matches(Some(&labels)));
        assert!(!s.matches(None));
    }

    #[test]
    fn set_based_and_malformed_terms_are_refused() {
        for bad in [
            "app in (a,b)",
            "app!=x",
            "app",
            "",
            "a=b,,c=d",
            "app=-x",
            "/x=y",
        ] {
            assert!(Selector::parse(bad).is_err(), "{bad:?} should be refused");
        }
        assert!(Selector::parse("app.kubernetes.io/name=mongodb").is_ok());
    }
}
