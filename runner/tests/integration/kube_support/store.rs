//! The double's object store: JSON objects by resource, namespace and name, with one global
//! resourceVersion counter and an event history that watches replay, as etcd does.

use std::collections::BTreeMap;

use serde_json::{Value, json};

/// What the double knows of a resource type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Kind {
    /// The API group; empty for core.
    pub group: &'static str,
    /// The version.
    pub version: &'static str,
    /// The plural resource name.
    pub plural: &'static str,
    /// The kind.
    pub kind: &'static str,
}

impl Kind {
    /// `apps/v1`, or `v1` for core.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_owned()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `deployments.apps`, as the API server names it in messages.
    pub fn qualified(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_owned()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }
}

pub const DEPLOYMENTS: Kind = Kind {
    group: "apps",
    version: "v1",
    plural: "deployments",
    kind: "Deployment",
};
pub const STATEFULSETS: Kind = Kind {
    group: "apps",
    version: "v1",
    plural: "statefulsets",
    kind: "StatefulSet",
};
pub const PODS: Kind = Kind {
    group: "",
    version: "v1",
    plural: "pods",
    kind: "Pod",
};
pub const NETWORKPOLICIES: Kind = Kind {
    group: "networking.k8s.io",
    version: "v1",
    plural: "networkpolicies",
    kind: "NetworkPolicy",
};
pub const SERVICES: Kind = Kind {
    group: "",
    version: "v1",
    plural: "services",
    kind: "Service",
};
/// Every kind the double stores.
pub const KINDS: [Kind; 5] = [DEPLOYMENTS, STATEFULSETS, PODS, NETWORKPOLICIES, SERVICES];

/// One change, as a watch sends it.
#[derive(Debug, Clone)]
pub struct Change {
    /// The resourceVersion it made.
    pub rv: u64,
    /// The kind changed.
    pub kind: Kind,
    /// Its namespace.
    pub namespace: String,
    /// `ADDED`, `MODIFIED` or `DELETED`.
    pub kind_of_change: &'static str,
    /// The object after the change (before it, for `DELETED`).
    pub object: Value,
}

/// Objects and their history.
#[derive(Debug, Default)]
pub struct Store {
    rv: u64,
    uid: u64,
    objects: BTreeMap<(Kind, String, String), Value>,
    history: Vec<Change>,
    /// The local process that stands in for the containers of an image: pods created from a
    /// template whose first container runs the image get its port-forward address and,
    /// optionally, the address their Service traffic reaches.
    pub image_backends: BTreeMap<String, (String, Option<String>)>,
}

/// Now, as Kubernetes writes timestamps.
pub fn now() -> Value {
    serde_json::to_value(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
        k8s_openapi::jiff::Timestamp::now(),
    ))
    .expect("a time serialises")
}

impl Store {
    /// The current resourceVersion.
    pub fn rv(&self) -> u64 {
        self.rv
    }

    /// The object, if any.
    pub fn get(&self, kind: Kind, namespace: &str, name: &str) -> Option<&Value> {
        self.objects
            .get(&(kind, namespace.to_owned(), name.to_owned()))
    }

    /// The objects of `kind` in `namespace`, by name.
    pub fn list(&self, kind: Kind, namespace: &str) -> Vec<Value> {
        self.objects
            .iter()
            .filter(|((k, ns, _), _)| *k == kind && ns == namespace)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// Changes after `rv`.
    pub fn changes_since(&self, rv: u64) -> impl Iterator<Item = &Change> {
        let start = self.history.partition_point(|c| c.rv <= rv);
        self.history[start..].iter()
    }

    /// Adds `object`, filling in the server-set metadata; `None` when the name is taken.
    pub fn create(&mut self, kind: Kind, namespace: &str, mut object: Value) -> Option<Value> {
        let name = object
            .pointer("/metadata/name")
            .and_then(Value::as_str)?
            .to_owned();
        if self.get(kind, namespace, &name).is_some() {
            return None;
        }
        self.uid += 1;
        object["kind"] = json!(kind.kind);
        object["apiVersion"] = json!(kind.api_version());
        let meta = &mut object["metadata"];
        meta["namespace"] = json!(namespace);
        meta["uid"] = json!(format!("00000000-0000-4000-8000-{:012x}", self.uid));
        meta["creationTimestamp"] = now();
        meta["generation"] = json!(1);
        Some(self.put(kind, namespace, &name, object, "ADDED"))
    }

    /// Replaces the object `name`, bumping its resourceVersion.
    pub fn update(&mut self, kind: Kind, namespace: &str, name: &str, object: Value) -> Value {
        self.put(kind, namespace, name, object, "MODIFIED")
    }

    fn put(
        &mut self,
        kind: Kind,
        namespace: &str,
        name: &str,
        mut object: Value,
        change: &'static str,
    ) -> Value {
        self.rv += 1;
        object["metadata"]["resourceVersion"] = json!(self.rv.to_string());
        self.objects.insert(
            (kind, namespace.to_owned(), name.to_owned()),
            object.clone(),
        );
        self.history.push(Change {
            rv: self.rv,
            kind,
            namespace: namespace.to_owned(),
            kind_of_change: change,
            object: object.clone(),
        });
        object
    }

    /// Removes the object `name`; `None` when there is none.
    pub fn delete(&mut self, kind: Kind, namespace: &str, name: &str) -> Option<Value> {
        let mut object = self
            .objects
            .remove(&(kind, namespace.to_owned(), name.to_owned()))?;
        self.rv += 1;
        object["metadata"]["resourceVersion"] = json!(self.rv.to_string());
        self.history.push(Change {
            rv: self.rv,
            kind,
            namespace: namespace.to_owned(),
            kind_of_change: "DELETED",
            object: object.clone(),
        });
        Some(object)
    }
}

/// RFC 7386 JSON merge patch.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = json!({});
    }
    let target = target.as_object_mut().expect("an object");
    for (key, value) in patch {
        if value.is_null() {
            target.remove(key);
        } else {
            merge_patch(target.entry(key.clone()).or_insert(Value::Null), value);
        }
    }
}

/// An equality-based label selector query (`a=b,c==d,e!=f`), as the API server takes it.
#[derive(Debug, Clone, Default)]
pub struct LabelQuery(Vec<(String, String, bool)>);

impl LabelQuery {
    /// Parses the query; `Err` on what the double does not support.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut terms = Vec::new();
        for term in text.split(',').filter(|t| !t.trim().is_empty()) {
            let (key, value, equal) = if let Some((k, v)) = term.split_once("!=") {
                (k, v, false)
            } else if let Some((k, v)) = term.split_once("==").or_else(|| term.split_once('=')) {
                (k, v, true)
            } else {
                return Err(format!("unable to parse requirement: {term:?}"));
            };
            terms.push((key.trim().to_owned(), value.trim().to_owned(), equal));
        }
        Ok(Self(terms))
    }

    /// Whether `object`'s labels match.
    pub fn matches(&self, object: &Value) -> bool {
        let labels = object.pointer("/metadata/labels");
        self.0.iter().all(|(k, v, equal)| {
            let actual = labels.and_then(|l| l.get(k)).and_then(Value::as_str);
            (actual == Some(v.as_str())) == *equal
        })
    }
}

/// Whether `labels` (a `matchLabels` map) selects `object`.
pub fn selects(match_labels: &Value, object: &Value) -> bool {
    let Some(wanted) = match_labels.as_object() else {
        return false;
    };
    let labels = object.pointer("/metadata/labels");
    wanted
        .iter()
        .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
}
