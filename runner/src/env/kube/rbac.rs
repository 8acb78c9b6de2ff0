//! Every Kubernetes API access the backend makes, as RBAC rules. Each call site names one of
//! these constants, which are the only way to build a [`Rule`]; so [`ALL`] is exactly what
//! the code can call, and a test compares it with the Role in `deploy/rbac.yaml`.

/// One API access: a verb on a resource (with its subresource) of an API group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Rule {
    group: &'static str,
    resource: &'static str,
    verb: &'static str,
}

impl Rule {
    /// The API group; empty for the core group.
    pub fn group(&self) -> &'static str {
        self.group
    }

    /// The resource, with its subresource: `deployments/scale`.
    pub fn resource(&self) -> &'static str {
        self.resource
    }

    /// The RBAC verb: `get`, `list`, `watch`, `patch`, `create` or `delete`.
    pub fn verb(&self) -> &'static str {
        self.verb
    }

    /// The Role rule that grants it, as YAML on one line.
    pub fn as_role_rule(&self) -> String {
        format!(
            "{{apiGroups: [\"{}\"], resources: [\"{}\"], verbs: [\"{}\"]}}",
            self.group, self.resource, self.verb
        )
    }
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let group = if self.group.is_empty() {
            String::new()
        } else {
            format!(".{}", self.group)
        };
        write!(f, "{} {}{}", self.verb, self.resource, group)
    }
}

macro_rules! rules {
    ($($(#[$doc:meta])* $name:ident = $group:literal $resource:literal $verb:literal;)*) => {
        $($(#[$doc])* pub const $name: Rule = Rule { group: $group, resource: $resource, verb: $verb };)*
        /// Every rule above: what the backend can call, and so what its Role must grant.
        pub const ALL: &[Rule] = &[$($name),*];
    };
}

rules! {
    /// Read a Deployment: its replicas, readiness and annotations.
    GET_DEPLOYMENT = "apps" "deployments" "get";
    /// Find Deployments an earlier run annotated (cleanup).
    LIST_DEPLOYMENTS = "apps" "deployments" "list";
    /// Wait for a Deployment's ready replicas (`await_condition`).
    WATCH_DEPLOYMENTS = "apps" "deployments" "watch";
    /// Record or remove the original-replicas annotation.
    PATCH_DEPLOYMENT = "apps" "deployments" "patch";
    /// Read a Deployment's desired replicas.
    GET_DEPLOYMENT_SCALE = "apps" "deployments/scale" "get";
    /// Scale a Deployment.
    PATCH_DEPLOYMENT_SCALE = "apps" "deployments/scale" "patch";
    /// Create the fault proxy's Deployment in front of a workload.
    CREATE_DEPLOYMENT = "apps" "deployments" "create";
    /// Delete the fault proxy's Deployment.
    DELETE_DEPLOYMENT = "apps" "deployments" "delete";
    /// Read a workload's Service: its selector and ports, before re-pointing it to the proxy.
    GET_SERVICE = "" "services" "get";
    /// Find re-pointed Services and the runner's headless Services (steady state, cleanup).
    LIST_SERVICES = "" "services" "list";
    /// Re-point a Service's selector to the proxy, and restore it.
    PATCH_SERVICE = "" "services" "patch";
    /// Create the headless Service through which the proxy reaches the workload's own pods.
    CREATE_SERVICE = "" "services" "create";
    /// Delete that headless Service.
    DELETE_SERVICE = "" "services" "delete";
    /// Read a StatefulSet.
    GET_STATEFULSET = "apps" "statefulsets" "get";
    /// Find StatefulSets an earlier run annotated (cleanup).
    LIST_STATEFULSETS = "apps" "statefulsets" "list";
    /// Wait for a StatefulSet's ready replicas.
    WATCH_STATEFULSETS = "apps" "statefulsets" "watch";
    /// Record or remove the original-replicas annotation on a StatefulSet.
    PATCH_STATEFULSET = "apps" "statefulsets" "patch";
    /// Read a StatefulSet's desired replicas.
    GET_STATEFULSET_SCALE = "apps" "statefulsets/scale" "get";
    /// Scale a StatefulSet.
    PATCH_STATEFULSET_SCALE = "apps" "statefulsets/scale" "patch";
    /// Check that a port-forward's pod is still there.
    GET_POD = "" "pods" "get";
    /// A workload's pods, by its selector.
    LIST_PODS = "" "pods" "list";
    /// Wait until a workload's pods are ready.
    WATCH_PODS = "" "pods" "watch";
    /// Delete a workload's oldest ready pod.
    DELETE_POD = "" "pods" "delete";
    /// Open a port-forward over WebSocket (an HTTP GET, authorised as `get`).
    GET_POD_PORTFORWARD = "" "pods/portforward" "get";
    /// Open a port-forward: Kubernetes 1.35+ also checks `create` for WebSocket upgrades.
    CREATE_POD_PORTFORWARD = "" "pods/portforward" "create";
    /// Read the runner's own NetworkPolicy when creating it finds one already there.
    GET_NETWORKPOLICY = "networking.k8s.io" "networkpolicies" "get";
    /// Find runner-labelled NetworkPolicies (steady state, cleanup).
    LIST_NETWORKPOLICIES = "networking.k8s.io" "networkpolicies" "list";
    /// Block a workload's ingress.
    CREATE_NETWORKPOLICY = "networking.k8s.io" "networkpolicies" "create";
    /// Lift a block.
    DELETE_NETWORKPOLICY = "networking.k8s.io" "networkpolicies" "delete";
    /// One pod's memory usage.
    GET_POD_METRICS = "metrics.k8s.io" "pods" "get";
    /// Whether the metrics API is served.
    LIST_POD_METRICS = "metrics.k8s.io" "pods" "list";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_are_unique_and_print_as_kubectl_would() {
        let mut seen = std::collections::HashSet::new();
        assert!(
            ALL.iter().all(|r| seen.insert(*r)),
            "a rule is listed twice"
        );
        assert_eq!(
            PATCH_DEPLOYMENT_SCALE.to_string(),
            "patch deployments/scale.apps"
        );
        assert_eq!(LIST_PODS.to_string(), "list pods");
        assert_eq!(
            DELETE_POD.as_role_rule(),
            r#"{apiGroups: [""], resources: ["pods"], verbs: ["delete"]}"#
        );
    }
}
