//! `GET /jobs?task_id=…`: the jobs the Focus Server orchestrated, as [`Job`]s.

use serde::Deserialize;

use super::get;
use crate::HostError;
use crate::http::encode_component;

/// One orchestrated job, as `GET /jobs` lists it.
///
/// ```no_run
/// for job in scenarios_sdk::jobs("t1").unwrap() {
///     println!("{} {} {}", job.id(), job.state(), job.created_at());
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Job {
    #[serde(rename = "job_id")]
    id: String,
    task_id: String,
    #[serde(deserialize_with = "text_or_number")]
    view_type: String,
    state: String,
    created_at: String,
}

impl Job {
    /// The job id.
    ///
    /// ```no_run
    /// let ids: Vec<String> = scenarios_sdk::jobs("t1").unwrap().iter().map(|j| j.id().to_string()).collect();
    /// ```
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The task id the job was configured under.
    ///
    /// ```no_run
    /// let job = &scenarios_sdk::jobs("t1").unwrap()[0];
    /// assert_eq!(job.task_id(), "t1");
    /// ```
    pub fn task_id(&self) -> &str {
        &self.task_id
    }

    /// The view type: `0` multichannel, `1` single channel, `2` waterfall.
    ///
    /// ```no_run
    /// let view = scenarios_sdk::jobs("t1").unwrap()[0].view_type().to_string();
    /// ```
    pub fn view_type(&self) -> &str {
        &self.view_type
    }

    /// The job's state, for example `running`, `stopped` or `failed`.
    ///
    /// ```no_run
    /// let running = scenarios_sdk::jobs("t1").unwrap().iter().all(|j| j.state() == "running");
    /// ```
    pub fn state(&self) -> &str {
        &self.state
    }

    /// When the job was created, RFC 3339.
    ///
    /// ```no_run
    /// println!("{}", scenarios_sdk::jobs("t1").unwrap()[0].created_at());
    /// ```
    pub fn created_at(&self) -> &str {
        &self.created_at
    }
}

fn text_or_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(s) => s,
        other => other.to_string(),
    })
}

/// The jobs the Focus Server orchestrated for `task_id` (`GET /jobs?task_id=…`), running and
/// recently finished, so that "nothing was orchestrated" can be asserted. An answer other
/// than a 200 JSON list is a [`HostError::Failed`] naming the request.
///
/// ```no_run
/// use scenarios_sdk::{Outcome, ensure, jobs};
///
/// fn nothing_orchestrated(task: &str) -> Outcome {
///     let found = jobs(task)?;
///     ensure!(found.is_empty(), "expected no job for task {task}, found {}", found.len());
///     Ok(())
/// }
/// ```
pub fn jobs(task_id: &str) -> Result<Vec<Job>, HostError> {
    let response = get(&format!("/jobs?task_id={}", encode_component(task_id)))?;
    parse_jobs(response.request(), response.status(), response.text())
}

fn parse_jobs(request: &str, status: u16, body: &str) -> Result<Vec<Job>, HostError> {
    if status != 200 {
        let first = body.lines().next().unwrap_or_default();
        return Err(HostError::Failed(format!(
            "{request} answered {status}: {first}"
        )));
    }
    serde_json::from_str(body)
        .map_err(|e| HostError::Failed(format!("{request}: not a JSON array of jobs: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_are_parsed_from_the_interface_shape() {
        let body = r#"[{"job_id":"a","task_id":"t","view_type":"0","state":"running","created_at":"x"},
                       {"job_id":"b","task_id":"t","view_type":2,"state":"stopped","created_at":"y"}]"#;
        let jobs = parse_jobs("GET /jobs", 200, body).unwrap();
        assert_eq!(jobs[0].id(), "a");
        assert_eq!(jobs[1].view_type(), "2");
        let error = parse_jobs("GET /jobs?task_id=t", 503, "{\"error\":\"x\"}").unwrap_err();
        assert_eq!(
            error.message(),
            "GET /jobs?task_id=t answered 503: {\"error\":\"x\"}"
        );
        assert!(parse_jobs("GET /jobs", 200, r#"{"error": "db down"}"#).is_err());
    }
}
