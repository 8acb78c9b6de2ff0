//! The selection flags that `run` and `list` share: which scenarios, by name, substring and
//! tag; which never; and which share of them for one of several CI machines.

use clap::Args;

use crate::run::{Partition, Selection};

/// Which scenarios to take. Every flag given must hold.
#[derive(Debug, Clone, Default, Args)]
pub struct SelectionArgs {
    /// Exactly the scenario with this name.
    #[arg(long, value_name = "NAME")]
    pub scenario: Option<String>,
    /// The scenarios whose name contains this.
    #[arg(long, value_name = "SUBSTRING")]
    pub filter: Option<String>,
    /// The scenarios with this tag; repeat for several (any of them selects).
    #[arg(long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,
    /// Never the scenario with this name; repeat for several.
    #[arg(long = "exclude", value_name = "NAME")]
    pub exclude: Vec<String>,
    /// Never the scenarios with this tag; repeat for several.
    #[arg(long = "exclude-tag", value_name = "TAG")]
    pub exclude_tags: Vec<String>,
    /// Only the K-th of N shares of what the other flags select, for N CI machines: the
    /// scenario at position i (from 0, in run order) is in share i % N + 1.
    #[arg(long, value_name = "K/N")]
    pub partition: Option<Partition>,
}

impl SelectionArgs {
    /// The selection these flags make.
    pub fn selection(&self) -> Selection {
        Selection {
            scenario: self.scenario.clone(),
            filter: self.filter.clone(),
            tags: self.tags.clone(),
            exclude: self.exclude.clone(),
            exclude_tags: self.exclude_tags.clone(),
            partition: self.partition,
        }
    }

    /// The flags given, as written (`--tag p0 --exclude x`), for messages.
    pub fn describe(&self) -> String {
        let one =
            |flag: &str, value: &Option<String>| value.as_ref().map(|v| format!("{flag} {v}"));
        let many = |flag: &str, values: &[String]| {
            values
                .iter()
                .map(|v| format!("{flag} {v}"))
                .collect::<Vec<_>>()
        };
        one("--scenario", &self.scenario)
            .into_iter()
            .chain(one("--filter", &self.filter))
            .chain(many("--tag", &self.tags))
            .chain(many("--exclude", &self.exclude))
            .chain(many("--exclude-tag", &self.exclude_tags))
            .chain(self.partition.map(|p| format!("--partition {p}")))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describe_writes_the_flags_back() {
        let args = SelectionArgs {
            tags: vec!["p0".into(), "p1".into()],
            exclude_tags: vec!["slow".into()],
            partition: Some("1/2".parse().unwrap()),
            ..SelectionArgs::default()
        };
        assert_eq!(
            args.describe(),
            "--tag p0 --tag p1 --exclude-tag slow --partition 1/2"
        );
    }
}
