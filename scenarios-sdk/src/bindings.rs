//! The bindings wit-bindgen generates from `wit/scenario.wit` (world `scenario`).
//!
//! Scenarios do not use them directly: the rest of the SDK wraps them in typed functions.
//! They are public only so that [`export_scenarios!`](crate::export_scenarios) can export a
//! downstream crate's suite through them.

#![allow(missing_docs, clippy::all)]

wit_bindgen::generate!({
    world: "scenario",
    path: "../wit",
    pub_export_macro: true,
    export_macro_name: "__export_scenario_world",
    default_bindings_module: "::scenarios_sdk::bindings",
    runtime_path: "::scenarios_sdk::__private::wit_bindgen::rt",
});
