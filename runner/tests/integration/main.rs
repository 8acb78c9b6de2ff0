//! The runner's integration tests, in one binary (as ripgrep and cargo-nextest do): one link
//! of wasmtime, kube and mongodb instead of one per file. The shared harnesses are `support`
//! (fixture guests, the runner binary), `kube_support` (the Kubernetes API double) and
//! `local_support` (real MongoDB-wire servers and the Focus Server).

mod kube_support;
mod local_support;
mod support;

mod cache;
mod cli;
mod contract;
mod contract_local;
mod focus_http;
mod html_report;
mod kube_access;
mod kube_cli;
mod kube_cluster;
mod kube_env;
mod kube_kubectl;
mod kube_kubectl_proxy;
mod kube_manifests;
mod kube_proxy;
mod kube_suite;
mod local_faults;
mod local_faults_contract;
mod local_lifecycle;
mod local_rollback;
mod new_crate;
mod outcomes;
mod proxy_cmd;
mod python;
mod reports;
mod robustness;
mod rollback;
mod security;
