//! `scenario-runner new NAME [--path DIR] [--lang rust|python]`: writes a ready scenario crate
//! from the SDK's template (`scenarios-sdk/template/`, embedded in the binary), with the package
//! name set and the `scenarios-sdk` dependency pointing at the SDK, relative to the new crate;
//! or, with `--lang python`, a Python scenario package ([`python`]). It refuses to write into a
//! folder that exists.

mod python;

use std::path::{Component, Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::{Args, ValueEnum};

/// The template's files, as the SDK keeps them.
const TEMPLATE_CARGO_TOML: &str = include_str!("../../../../scenarios-sdk/template/Cargo.toml");
const TEMPLATE_LIB_RS: &str = include_str!("../../../../scenarios-sdk/template/src/lib.rs");
const TEMPLATE_GITIGNORE: &str = include_str!("../../../../scenarios-sdk/template/.gitignore");

/// The template's package name and SDK dependency, replaced in the copy.
const TEMPLATE_NAME: &str = "my-scenarios";
const TEMPLATE_SDK_LINE: &str = "scenarios-sdk = { path = \"..\" }";

/// Arguments of `new`.
#[derive(Debug, Args)]
pub struct NewArgs {
    /// The crate's name, such as `my-scenarios`: ASCII letters, digits, `-` and `_`, starting
    /// with a letter.
    #[arg(value_name = "NAME")]
    pub name: String,
    /// The folder to write the crate into; it must not exist yet [default: ./NAME].
    #[arg(long, value_name = "DIR")]
    pub path: Option<PathBuf>,
    /// The language of the scenarios.
    #[arg(long, value_enum, default_value_t = Lang::Rust)]
    pub lang: Lang,
    /// The SDK's folder (`scenarios-sdk`, or `scenarios-sdk-py` with `--lang python`)
    /// [default: the one of the checkout this runner was built from, or one found from the new
    /// folder upwards].
    #[arg(long, value_name = "DIR")]
    pub sdk: Option<PathBuf>,
}

/// The languages a scenario crate can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Lang {
    /// Rust, with `scenarios-sdk`.
    Rust,
    /// Python, with `scenarios-sdk-py`, built by the runner with componentize-py.
    Python,
}

impl Lang {
    /// The SDK's folder name in a checkout.
    fn sdk_folder(self) -> &'static str {
        match self {
            Lang::Rust => "scenarios-sdk",
            Lang::Python => "scenarios-sdk-py",
        }
    }
}

/// Writes the crate and says what to do next.
pub async fn execute(args: NewArgs) -> anyhow::Result<ExitCode> {
    check_name(&args.name)?;
    let dir = args
        .path
        .clone()
        .unwrap_or_else(|| PathBuf::from(&args.name));
    let sdk = find_sdk(args.sdk.as_deref(), &dir, args.lang)?;
    let what = match args.lang {
        Lang::Rust => {
            write_rust_crate(&args.name, &dir, &sdk)?;
            "Rust scenario crate"
        }
        Lang::Python => {
            python::write_package(&args.name, &dir, &sdk)?;
            "Python scenario package"
        }
    };
    let shown = dir.display();
    println!("Created the {what} `{}` in {shown}", args.name);
    println!("  {}: {}", args.lang.sdk_folder(), sdk.display());
    println!("Next:");
    println!("  scenario-runner list {shown}   # builds it and lists its scenarios");
    println!(
        "  scenario-runner run  {shown}   # runs them; JUnit in target/scenario-reports/junit.xml"
    );
    Ok(ExitCode::SUCCESS)
}

/// Refuses names cargo would refuse, with the rule.
fn check_name(name: &str) -> anyhow::Result<()> {
    let ok = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !ok {
        bail!(
            "`{name}` cannot name a crate: use ASCII letters, digits, `-` and `_`, starting with a \
             letter, such as `my-scenarios`"
        );
    }
    Ok(())
}

/// The SDK's folder, absolute: `--sdk`, else the checkout this binary was built from, else the
/// SDK's folder in the new folder's parent or above.
fn find_sdk(given: Option<&Path>, dir: &Path, lang: Lang) -> anyhow::Result<PathBuf> {
    let name = lang.sdk_folder();
    if let Some(given) = given {
        return sdk_at(given, lang)
            .with_context(|| format!("--sdk {}: not the {name} folder", given.display()));
    }
    let built_from = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(name);
    if let Ok(sdk) = sdk_at(&built_from, lang) {
        return Ok(sdk);
    }
    let start = absolute(dir)?;
    for folder in start.ancestors().skip(1) {
        if let Ok(sdk) = sdk_at(&folder.join(name), lang) {
            return Ok(sdk);
        }
    }
    bail!(
        "cannot find {name} (not at {}, nor in a folder above {}); pass its folder with --sdk DIR",
        built_from.display(),
        start.display()
    )
}

/// `folder`, canonical, when it holds the SDK of `lang`.
fn sdk_at(folder: &Path, lang: Lang) -> anyhow::Result<PathBuf> {
    match lang {
        Lang::Rust => {
            let manifest = std::fs::read_to_string(folder.join("Cargo.toml"))
                .with_context(|| format!("no Cargo.toml in {}", folder.display()))?;
            if !manifest.contains("name = \"scenarios-sdk\"") {
                bail!("{} is not the scenarios-sdk package", folder.display());
            }
        }
        Lang::Python => {
            if !folder.join("src/focus_scenarios/__init__.py").is_file() {
                bail!("{} holds no src/focus_scenarios", folder.display());
            }
        }
    }
    Ok(std::fs::canonicalize(folder)?)
}

/// `path` made absolute against the current folder, without touching the file system.
fn absolute(path: &Path) -> anyhow::Result<PathBuf> {
    Ok(std::path::absolute(path)?)
}

/// Creates `dir`, which must not exist yet, and returns it canonical.
fn create_new_dir(dir: &Path) -> anyhow::Result<PathBuf> {
    if dir.exists() {
        bail!(
            "{} already exists; `new` writes a new folder and overwrites nothing: choose another \
             name or --path",
            dir.display()
        );
    }
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    // create_dir, not create_dir_all: it fails if the folder appeared meanwhile.
    std::fs::create_dir(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(std::fs::canonicalize(dir)?)
}

/// Writes `files` (path in `dir`, text) into `dir`.
fn write_files(dir: &Path, files: &[(&str, String)]) -> anyhow::Result<()> {
    for (file, text) in files {
        let path = dir.join(file);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

/// Writes the template into `dir`, which must not exist.
fn write_rust_crate(name: &str, dir: &Path, sdk: &Path) -> anyhow::Result<()> {
    let crate_dir = create_new_dir(dir)?;
    let sdk_path = relative(&crate_dir, sdk).unwrap_or_else(|| sdk.to_path_buf());
    write_files(
        dir,
        &[
            ("Cargo.toml", cargo_toml(name, &sdk_path)?),
            (".gitignore", TEMPLATE_GITIGNORE.to_string()),
            ("src/lib.rs", TEMPLATE_LIB_RS.to_string()),
        ],
    )
}

/// The template's `Cargo.toml` with the package `name` and the SDK at `sdk_path`.
fn cargo_toml(name: &str, sdk_path: &Path) -> anyhow::Result<String> {
    let name_line = format!("name = \"{TEMPLATE_NAME}\"");
    if !TEMPLATE_CARGO_TOML.contains(&name_line) || !TEMPLATE_CARGO_TOML.contains(TEMPLATE_SDK_LINE)
    {
        bail!("the embedded template's Cargo.toml lacks `{name_line}` or `{TEMPLATE_SDK_LINE}`");
    }
    let path = sdk_path
        .to_str()
        .with_context(|| format!("the SDK's path {} is not UTF-8", sdk_path.display()))?;
    let quoted = toml::Value::String(path.to_string()).to_string();
    Ok(TEMPLATE_CARGO_TOML
        .replace(&name_line, &format!("name = \"{name}\""))
        .replace(
            TEMPLATE_SDK_LINE,
            &format!("scenarios-sdk = {{ path = {quoted} }}"),
        )
        .replace("my_scenarios", &name.replace('-', "_")))
}

/// The path from folder `from` to `to`, both absolute and canonical; `None` when they share
/// no root.
fn relative(from: &Path, to: &Path) -> Option<PathBuf> {
    let from: Vec<Component> = from.components().collect();
    let to: Vec<Component> = to.components().collect();
    if from.first() != to.first() {
        return None;
    }
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut path = PathBuf::new();
    for _ in common..from.len() {
        path.push("..");
    }
    for part in &to[common..] {
        path.push(part);
    }
    Some(if path.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        path
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_climb_to_the_common_folder() {
        let rel = |a: &str, b: &str| relative(Path::new(a), Path::new(b)).unwrap();
        assert_eq!(
            rel("/w/repo/my", "/w/repo/scenarios-sdk"),
            Path::new("../scenarios-sdk")
        );
        assert_eq!(rel("/tmp/x/y", "/w/sdk"), Path::new("../../../w/sdk"));
        assert_eq!(rel("/w/sdk", "/w/sdk"), Path::new("."));
    }

    #[test]
    fn the_template_gets_its_name_and_sdk_path() {
        let toml = cargo_toml("outage-checks", Path::new("../scenarios-sdk")).unwrap();
        assert!(toml.contains("name = \"outage-checks\""), "{toml}");
        assert!(
            toml.contains("scenarios-sdk = { path = \"../scenarios-sdk\" }"),
            "{toml}"
        );
        assert!(toml.contains("outage_checks.wasm"), "{toml}");
        assert!(!toml.contains("my-scenarios"), "{toml}");
        let parsed: toml::Value = toml::from_str(&toml).unwrap();
        assert_eq!(parsed["package"]["name"].as_str(), Some("outage-checks"));
    }

    #[test]
    fn names_cargo_would_refuse_are_refused() {
        for bad in ["", "1st", "my scenarios", "a/b", "ünïcode"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
        assert!(check_name("my-scenarios_2").is_ok());
    }
}
