//! A workload's command line with placeholders, parsed once from the configuration and rendered
//! for each pod.
//!
//! Placeholders: `{port}` (the pod's own port), `{data_dir}` (the workload's data folder, kept
//! across pods within a run), `{pod}` (the pod's name), `{run_id}`, `{service:NAME}` (the
//! `127.0.0.1:PORT` of another workload's service) and `{exe:NAME}` (a program found next to the
//! runner's executable, then on PATH). `{{` and `}}` stand for literal braces.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// A command line with placeholders.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "CommandRepr")]
pub struct CommandTemplate {
    args: Vec<Vec<Segment>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum CommandRepr {
    Line(String),
    Args(Vec<String>),
}

impl TryFrom<CommandRepr> for CommandTemplate {
    type Error = String;

    fn try_from(repr: CommandRepr) -> Result<Self, String> {
        match repr {
            CommandRepr::Line(line) => Self::parse_line(&line),
            CommandRepr::Args(args) => Self::from_args(&args),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Text(String),
    Port,
    DataDir,
    Pod,
    RunId,
    Service(String),
    Exe(String),
}

/// What the placeholders stand for, for one pod.
#[derive(Debug, Clone, Copy)]
pub struct Bindings<'a> {
    /// The pod's own port.
    pub port: u16,
    /// The pod's name.
    pub pod: &'a str,
    /// The run's id.
    pub run_id: &'a str,
    /// The workload's data folder.
    pub data_dir: &'a Path,
    /// Every workload's service port, by workload name.
    pub services: &'a BTreeMap<String, u16>,
    /// The programs `{exe:NAME}` names, found at start-up.
    pub exes: &'a BTreeMap<String, PathBuf>,
}

impl CommandTemplate {
    /// Splits `line` on whitespace; single or double quotes keep spaces inside one argument.
    pub fn parse_line(line: &str) -> Result<Self, String> {
        Self::from_args(&split_words(line)?)
    }

    /// Takes the arguments as they are, each with its placeholders.
    pub fn from_args(args: &[String]) -> Result<Self, String> {
        if args.is_empty() {
            return Err("the command is empty".to_owned());
        }
        let args = args
            .iter()
            .map(|a| parse_arg(a))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { args })
    }

    /// The workloads `{service:NAME}` refers to.
    pub fn services(&self) -> impl Iterator<Item = &str> {
        self.segments().filter_map(|s| match s {
            Segment::Service(name) => Some(name.as_str()),
            _ => None,
        })
    }

    /// The programs `{exe:NAME}` refers to.
    pub fn exes(&self) -> impl Iterator<Item = &str> {
        self.segments().filter_map(|s| match s {
            Segment::Exe(name) => Some(name.as_str()),
            _ => None,
        })
    }

    /// Whether the command uses `{data_dir}`: then the folder is a volume that one pod at a time
    /// may use.
    pub fn uses_data_dir(&self) -> bool {
        self.segments().any(|s| *s == Segment::DataDir)
    }

    fn segments(&self) -> impl Iterator<Item = &Segment> {
        self.args.iter().flatten()
    }

    /// The program and its arguments for one pod. Fails on a service or program that is not
    /// in `bindings`.
    pub fn render(&self, bindings: &Bindings<'_>) -> Result<Vec<String>, String> {
        self.args
            .iter()
            .map(|arg| {
                let mut out = String::new();
                for segment in arg {
                    match segment {
                        Segment::Text(t) => out.push_str(t),
                        Segment::Port => out.push_str(&bindings.port.to_string()),
                        Segment::DataDir => out.push_str(&bindings.data_dir.to_string_lossy()),
                        Segment::Pod => out.push_str(bindings.pod),
                        Segment::RunId => out.push_str(bindings.run_id),
                        Segment::Service(name) => {
                            let port = bindings
                                .services
                                .get(name)
                                .ok_or_else(|| format!("{{service:{name}}} names no workload"))?;
                            out.push_str(&format!("127.0.0.1:{port}"));
                        }
                        Segment::Exe(name) => {
                            let path = bindings
                                .exes
                                .get(name)
                                .ok_or_else(|| format!("{{exe:{name}}} was not resolved"))?;
                            out.push_str(&path.to_string_lossy());
                        }
                    }
                }
                Ok(out)
            })
            .collect()
    }
}

fn parse_arg(arg: &str) -> Result<Vec<Segment>, String> {
    let mut segments = Vec::new();
    let mut text = String::new();
    let mut rest = arg;
    while let Some(i) = rest.find(['{', '}']) {
        text.push_str(&rest[..i]);
        let tail = &rest[i..];
        if tail.starts_with("{{") || tail.starts_with("}}") {
            text.push_str(&tail[..1]);
            rest = &tail[2..];
            continue;
        }
        if tail.starts_with('}') {
            return Err(format!(
                "unmatched '}}' in '{arg}'; write '}}}}' for a literal brace"
            ));
        }
        let end = tail
            .find('}')
            .ok_or_else(|| format!("unclosed '{{' in '{arg}'"))?;
        if !text.is_empty() {
            segments.push(Segment::Text(std::mem::take(&mut text)));
        }
        segments.push(placeholder(&tail[1..end])?);
        rest = &tail[end + 1..];
    }
    text.push_str(rest);
    if !text.is_empty() {
        segments.push(Segment::Text(text));
    }
    Ok(segments)
}

fn placeholder(name: &str) -> Result<Segment, String> {
    Ok(match name.split_once(':') {
        None if name == "port" => Segment::Port,
        None if name == "data_dir" => Segment::DataDir,
        None if name == "pod" => Segment::Pod,
        None if name == "run_id" => Segment::RunId,
        Some(("service", target)) if !target.is_empty() => Segment::Service(target.to_owned()),
        Some(("exe", program)) if !program.is_empty() => Segment::Exe(program.to_owned()),
        _ => {
            return Err(format!(
                "unknown placeholder {{{name}}}: use {{port}}, {{data_dir}}, {{pod}}, {{run_id}}, \
                 {{service:NAME}} or {{exe:NAME}}"
            ));
        }
    })
}

/// Splits a command line into words, honouring single and double quotes.
fn split_words(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut quote: Option<char> = None;
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.get_or_insert_with(String::new).push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                word.get_or_insert_with(String::new);
            }
            (None, c) if c.is_whitespace() => words.extend(word.take()),
            (None, c) => word.get_or_insert_with(String::new).push(c),
        }
    }
    if let Some(q) = quote {
        return Err(format!("unclosed {q} in the command '{line}'"));
    }
    words.extend(word);
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(template: &CommandTemplate) -> Vec<String> {
        let services = BTreeMap::from([("mongodb".to_owned(), 27117)]);
        let exes = BTreeMap::from([("focus-server".to_owned(), PathBuf::from("/bin/fs"))]);
        template
            .render(&Bindings {
                port: 4000,
                pod: "fs-abcde-fghij",
                run_id: "r1",
                data_dir: Path::new("/d"),
                services: &services,
                exes: &exes,
            })
            .unwrap()
    }

    #[test]
    fn placeholders_render_for_a_pod() {
        let t = CommandTemplate::parse_line(
            "{exe:focus-server} --listen 127.0.0.1:{port} --mongo-uri 'mongodb://{service:mongodb}/?directConnection=true' \
             --name {pod}-{run_id} --data {data_dir} {{literal}}",
        )
        .unwrap();
        assert_eq!(
            render(&t),
            [
                "/bin/fs",
                "--listen",
                "127.0.0.1:4000",
                "--mongo-uri",
                "mongodb://127.0.0.1:27117/?directConnection=true",
                "--name",
                "fs-abcde-fghij-r1",
                "--data",
                "/d",
                "{literal}"
            ]
        );
        assert_eq!(t.services().collect::<Vec<_>>(), ["mongodb"]);
        assert_eq!(t.exes().collect::<Vec<_>>(), ["focus-server"]);
        assert!(t.uses_data_dir());
    }

    #[test]
    fn mistakes_are_named() {
        assert!(
            CommandTemplate::parse_line("x {prot}")
                .unwrap_err()
                .contains("unknown placeholder {prot}")
        );
        assert!(
            CommandTemplate::parse_line("x {port")
                .unwrap_err()
                .contains("unclosed '{'")
        );
        assert!(
            CommandTemplate::parse_line("x 'a b")
                .unwrap_err()
                .contains("unclosed '")
        );
        assert!(
            CommandTemplate::parse_line("  ")
                .unwrap_err()
                .contains("empty")
        );
        let t = CommandTemplate::parse_line("x {service:nope}").unwrap();
        let err = t
            .render(&Bindings {
                port: 1,
                pod: "p",
                run_id: "r",
                data_dir: Path::new("/"),
                services: &BTreeMap::new(),
                exes: &BTreeMap::new(),
            })
            .unwrap_err();
        assert!(err.contains("{service:nope}"), "{err}");
    }

    #[test]
    fn a_list_keeps_each_argument_whole() {
        let t: CommandTemplate =
            serde_json::from_str(r#"["prog", "a b", "--port={port}"]"#).unwrap();
        assert_eq!(render(&t), ["prog", "a b", "--port=4000"]);
    }
}
