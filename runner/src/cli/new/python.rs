//! `new NAME --lang python`: a Python scenario package from `scenarios-sdk-py/template/`
//! (embedded in the binary), with its names set and `sdk` pointing at the Python SDK,
//! relative to the new folder.

use std::path::Path;

use anyhow::bail;

const TEMPLATE_PYPROJECT: &str =
    include_str!("../../../../scenarios-sdk-py/template/pyproject.toml");
const TEMPLATE_SCENARIOS_PY: &str =
    include_str!("../../../../scenarios-sdk-py/template/scenarios.py");

/// The template's project name, component name and SDK line, replaced in the copy.
const TEMPLATE_PROJECT: &str = "name = \"my-scenarios\"";
const TEMPLATE_COMPONENT: &str = "name = \"my_scenarios\"";
const TEMPLATE_SDK_LINE: &str = "sdk = \"..\"";

/// Writes the package into `dir`, which must not exist.
pub(super) fn write_package(name: &str, dir: &Path, sdk: &Path) -> anyhow::Result<()> {
    let package = super::create_new_dir(dir)?;
    let sdk_path = super::relative(&package, sdk).unwrap_or_else(|| sdk.to_path_buf());
    super::write_files(
        dir,
        &[
            ("pyproject.toml", pyproject(name, &sdk_path)?),
            ("scenarios.py", TEMPLATE_SCENARIOS_PY.to_string()),
        ],
    )
}

/// The template's `pyproject.toml` with the project `name`, its component name (`-` made
/// `_`) and the SDK at `sdk_path`.
fn pyproject(name: &str, sdk_path: &Path) -> anyhow::Result<String> {
    for line in [TEMPLATE_PROJECT, TEMPLATE_COMPONENT, TEMPLATE_SDK_LINE] {
        if !TEMPLATE_PYPROJECT.contains(line) {
            bail!("the embedded Python template's pyproject.toml lacks `{line}`");
        }
    }
    let Some(path) = sdk_path.to_str() else {
        bail!("the SDK's path {} is not UTF-8", sdk_path.display());
    };
    let quoted = toml::Value::String(path.to_string()).to_string();
    Ok(TEMPLATE_PYPROJECT
        .replace(TEMPLATE_PROJECT, &format!("name = \"{name}\""))
        .replace(
            TEMPLATE_COMPONENT,
            &format!("name = \"{}\"", name.replace('-', "_")),
        )
        .replace(TEMPLATE_SDK_LINE, &format!("sdk = {quoted}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_gets_its_names_and_sdk_path() {
        let text = pyproject("outage-checks", Path::new("../scenarios-sdk-py")).unwrap();
        let parsed: toml::Value = toml::from_str(&text).unwrap();
        assert_eq!(parsed["project"]["name"].as_str(), Some("outage-checks"));
        let table = &parsed["tool"]["focus-scenarios"];
        assert_eq!(table["name"].as_str(), Some("outage_checks"));
        assert_eq!(table["sdk"].as_str(), Some("../scenarios-sdk-py"));
    }
}
