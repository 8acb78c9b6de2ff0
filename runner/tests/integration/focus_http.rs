//! `http.send` (here a configure) makes exactly one HTTP attempt, whatever the answer: a 503 is returned to the
//! scenario with the host's own timing and the `Retry-After` header, and a connection closed
//! without an answer is an error, never a retry.

use crate::support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use support::*;

/// What the test server does with a request.
#[derive(Clone, Copy)]
enum Answer {
    /// Waits, then answers 503 with `Retry-After: 7`.
    Unavailable503After(Duration),
    /// Closes the connection without a word.
    Hangs,
}

/// A one-thread HTTP server on a free loopback port that records each request line and body.
fn serve(answer: Answer) -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            reader.read_line(&mut request_line).unwrap();
            let mut length = 0;
            loop {
                let mut header = String::new();
                reader.read_line(&mut header).unwrap();
                if header.trim().is_empty() {
                    break;
                }
                if let Some(value) = header.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = value.trim().parse().unwrap();
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            log.lock().unwrap().push(format!(
                "{} {}",
                request_line.trim(),
                String::from_utf8_lossy(&body)
            ));
            match answer {
                Answer::Unavailable503After(delay) => {
                    std::thread::sleep(delay);
                    let body = r#"{"error": "database unavailable", "detail": null}"#;
                    let _ = write!(
                        stream,
                        "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 7\r\nContent-Type: application/json\r\n\
                         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                }
                Answer::Hangs => drop(stream),
            }
        }
    });
    (port, seen)
}

fn run_configure(port: u16) -> (Ran, Case) {
    let sim = SimConfig::with(
        "",
        &format!("http_services = {{ focus-server = \"http://127.0.0.1:{port}\" }}"),
    );
    let junit = sim.junit();
    let ran = run(runner(&sim.scratch.path)
        .args(["run", "--scenario", "configures_once", "--junit"])
        .arg(&junit)
        .arg(&fixtures().guest));
    let cases = read_report(&junit);
    (ran, case(&cases, "configures_once").clone())
}

#[test]
fn a_503_comes_back_after_one_attempt_with_its_timing_and_retry_after() {
    let (port, seen) = serve(Answer::Unavailable503After(Duration::from_millis(300)));
    let (ran, case) = run_configure(port);
    assert_eq!(ran.code, 0, "{}\n{case:#?}", ran.stderr);
    assert_eq!(
        *seen.lock().unwrap(),
        [r#"POST /configure?task_id=t-1 HTTP/1.1 {"view_type":"0"}"#]
    );
    let property = |name: &str| {
        case.properties
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    assert_eq!(property("status"), "503");
    assert_eq!(property("retry_after_s"), "7");
    let elapsed: f64 = property("elapsed_s").parse().unwrap();
    assert!(
        (0.3..5.0).contains(&elapsed),
        "elapsed {elapsed} s is the one request's time"
    );
}

#[test]
fn a_connection_closed_without_an_answer_is_an_error_and_is_not_retried() {
    let (port, seen) = serve(Answer::Hangs);
    let (ran, case) = run_configure(port);
    assert_eq!(ran.code, 1);
    assert_eq!(
        (case.outcome.as_str(), case.ty.as_str()),
        ("error", "host-error"),
        "{case:#?}"
    );
    assert!(
        case.message.contains("POST /configure?task_id=t-1"),
        "{case:#?}"
    );
    assert_eq!(
        seen.lock().unwrap().len(),
        1,
        "exactly one attempt: {:?}",
        seen.lock().unwrap()
    );
}
