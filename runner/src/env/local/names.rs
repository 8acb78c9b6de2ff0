//! Pod-like names: `mongodb-7b8f6-xk4m2`, a stable per-run template hash and a random suffix,
//! both in Kubernetes' alphabet for generated names.

use rand::Rng;

const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// `workload-hash-xxxxx`.
pub fn pod_name(workload: &str, template_hash: &str) -> String {
    let mut rng = rand::rng();
    let suffix: String = (0..5)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect();
    format!("{workload}-{template_hash}-{suffix}")
}

/// Five characters of Kubernetes' name alphabet derived from `parts`: stable for one run's
/// workload template, like a pod-template-hash.
pub fn template_hash(parts: &[&str]) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(parts.join("\0").as_bytes());
    digest
        .iter()
        .take(5)
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect()
}

/// A port on 127.0.0.1 that was free a moment ago: a pod's own port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_look_like_pods_and_share_the_template_hash() {
        let hash = template_hash(&["run-1", "mongodb", "secantusd-py --port {port}"]);
        assert_eq!(
            hash,
            template_hash(&["run-1", "mongodb", "secantusd-py --port {port}"])
        );
        assert_ne!(
            hash,
            template_hash(&["run-2", "mongodb", "secantusd-py --port {port}"])
        );
        let (a, b) = (pod_name("mongodb", &hash), pod_name("mongodb", &hash));
        assert_ne!(a, b);
        let parts: Vec<&str> = a.rsplitn(3, '-').collect();
        assert_eq!(parts.len(), 3, "{a}");
        assert_eq!(
            (parts[2], parts[1], parts[0].len()),
            ("mongodb", hash.as_str(), 5)
        );
    }
}
