//! Kubernetes errors as the contract's error variants. Each message names the verb, the
//! resource, the object, the namespace and, for a 403, the Role rule that is missing.

use std::future::Future;
use std::time::Duration;

use crate::env::EnvError;

use super::rbac::Rule;

/// One API call, for messages: what was done to what, where.
#[derive(Debug, Clone)]
pub struct Call<'a> {
    /// The access it needs.
    pub rule: Rule,
    /// The namespace.
    pub namespace: &'a str,
    /// The object's name; `None` for a list, watch or create.
    pub name: Option<&'a str>,
}

impl<'a> Call<'a> {
    /// A call on the object `name`.
    pub fn on(rule: Rule, namespace: &'a str, name: &'a str) -> Self {
        Self {
            rule,
            namespace,
            name: Some(name),
        }
    }

    /// A call on a collection.
    pub fn collection(rule: Rule, namespace: &'a str) -> Self {
        Self {
            rule,
            namespace,
            name: None,
        }
    }

    /// `patch deployments/scale.apps "mongodb" in namespace panda-system`.
    pub fn describe(&self) -> String {
        let target = match self.name {
            Some(name) => format!(" {name:?}"),
            None => String::new(),
        };
        format!("{}{target} in namespace {}", self.rule, self.namespace)
    }

    /// Maps a kube error of this call.
    pub fn error(&self, err: kube::Error) -> EnvError {
        map_error(self, err)
    }

    /// Runs the call's future with a deadline; the kube error is left to the caller.
    pub async fn try_run<T>(
        &self,
        timeout: Duration,
        fut: impl Future<Output = Result<T, kube::Error>>,
    ) -> Result<Result<T, kube::Error>, EnvError> {
        tokio::time::timeout(timeout, fut)
            .await
            .map_err(|_| self.timeout_error(timeout))
    }

    fn timeout_error(&self, timeout: Duration) -> EnvError {
        EnvError::Timeout(format!(
            "{}: no answer from the Kubernetes API server within {:.1} s",
            self.describe(),
            timeout.as_secs_f64()
        ))
    }

    /// Runs the call's future with a deadline and maps its error.
    pub async fn run<T>(
        &self,
        timeout: Duration,
        fut: impl Future<Output = Result<T, kube::Error>>,
    ) -> Result<T, EnvError> {
        self.try_run(timeout, fut).await?.map_err(|e| self.error(e))
    }
}

/// Maps `err`, raised by `call`, to the contract's variants.
pub fn map_error(call: &Call<'_>, err: kube::Error) -> EnvError {
    let what = call.describe();
    match err {
        kube::Error::Api(status) => {
            let said = if status.message.is_empty() {
                status.reason.clone()
            } else {
                status.message.clone()
            };
            match status.code {
                403 => EnvError::NotPermitted(format!(
                    "{what}: forbidden; the runner's Role lacks the rule {} (see deploy/rbac.yaml; \
                     check with `kubectl auth can-i {} {} -n {}`); the API server said: {said}",
                    call.rule.as_role_rule(),
                    call.rule.verb(),
                    kubectl_resource(&call.rule),
                    call.namespace
                )),
                401 => EnvError::NotPermitted(format!(
                    "{what}: unauthorized; the credentials of the kube context were rejected \
                     (log in again or check the context); the API server said: {said}"
                )),
                404 => {
                    EnvError::NotFound(format!("{what}: not found; the API server said: {said}"))
                }
                409 => EnvError::Failed(format!(
                    "{what}: conflict ({}); another client changed it at the same time, try again; \
                     the API server said: {said}",
                    status.reason
                )),
                code => EnvError::Failed(format!("{what}: HTTP {code} {}: {said}", status.reason)),
            }
        }
        other => EnvError::Failed(format!(
            "{what}: cannot talk to the Kubernetes API server: {}; check the kube context and \
             that the cluster is reachable",
            error_chain(&other)
        )),
    }
}

/// `deployments/scale` as `kubectl auth can-i` takes it: `deployments.apps/scale`.
fn kubectl_resource(rule: &Rule) -> String {
    let (resource, sub) = match rule.resource().split_once('/') {
        Some((r, s)) => (r, Some(s)),
        None => (rule.resource(), None),
    };
    let mut out = resource.to_owned();
    if !rule.group().is_empty() {
        out.push('.');
        out.push_str(rule.group());
    }
    if let Some(sub) = sub {
        out.push('/');
        out.push_str(sub);
    }
    out
}

/// An error with its sources, on one line, without repeating a source already in the text.
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        let line = s.to_string();
        if !text.contains(&line) {
            text.push_str(": ");
            text.push_str(&line);
        }
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::kube::rbac;

    fn status(code: u16, reason: &str, message: &str) -> kube::Error {
        kube::Error::Api(Box::new(kube::core::Status {
            status: Some(kube::core::response::StatusSummary::Failure),
            code,
            message: message.into(),
            reason: reason.into(),
            metadata: None,
            details: None,
        }))
    }

    #[test]
    fn a_403_names_verb_resource_namespace_and_the_missing_rule() {
        let call = Call::on(rbac::PATCH_DEPLOYMENT_SCALE, "panda-system", "mongodb");
        let err = call.error(status(
            403,
            "Forbidden",
            "deployments.apps \"mongodb\" is forbidden",
        ));
        let EnvError::NotPermitted(message) = err else {
            panic!("not NotPermitted: {err:?}")
        };
        assert!(
            message
                .starts_with("patch deployments/scale.apps \"mongodb\" in namespace panda-system"),
            "{message}"
        );
        assert!(
            message.contains(
                r#"{apiGroups: ["apps"], resources: ["deployments/scale"], verbs: ["patch"]}"#
            ),
            "{message}"
        );
        assert!(
            message.contains("kubectl auth can-i patch deployments.apps/scale -n panda-system"),
            "{message}"
        );
    }

    #[test]
    fn not_found_conflict_and_others_map_to_their_variants() {
        let call = Call::collection(rbac::LIST_PODS, "ns");
        assert!(matches!(
            call.error(status(404, "NotFound", "x")),
            EnvError::NotFound(_)
        ));
        let conflict = call.error(status(409, "Conflict", "the object has been modified"));
        assert!(
            matches!(&conflict, EnvError::Failed(m) if m.contains("conflict (Conflict)")),
            "{conflict:?}"
        );
        assert!(matches!(
            call.error(status(500, "InternalError", "x")),
            EnvError::Failed(_)
        ));
        assert!(matches!(
            call.error(status(401, "Unauthorized", "x")),
            EnvError::NotPermitted(_)
        ));
    }
}
