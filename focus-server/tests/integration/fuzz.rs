//! Property test over random configure payloads (10 000 cases, both forms, both prefixes)
//! against a real server with MongoDB up: the answer is never a 5xx, every error body has the
//! agreed shape, and the server never panics (it would drop the connection or die). The
//! payloads carry NUL characters and unicode in field names and values, deep nesting (past
//! the storable limit and past the JSON parser's) and duplicate keys; after the burst, every
//! job-record write has left the pending queue (`pending_writes` back to 0).

use crate::support;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Map, Value, json};
use support::shared_stack;

/// Any JSON scalar, with a bias to the interesting edges.
fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        (-3i64..5000).prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1.0e3f64..1.0e4).prop_map(Value::from),
        prop::sample::select(vec![
            0i64, 1, 2, 3, 127, 128, 1024, 65536, 131072, 2222, 2223
        ])
        .prop_map(Value::from),
        "[0-9]{0,13}".prop_map(Value::from),
        ".{0,8}".prop_map(Value::from),
    ]
}

/// A field name: plain, unicode, with a NUL character, or one MongoDB treats specially.
fn tricky_key() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => "[a-zA-Z_]{1,10}",
        3 => "\\PC{1,6}",
        1 => ("[a-z]{0,3}", "[a-z]{0,3}").prop_map(|(a, b)| format!("{a}\u{0}{b}")),
        1 => Just("\u{0}".to_owned()),
        1 => prop::sample::select(vec!["$set", "a.b", "", "ключ", "😀", "_id"]).prop_map(str::to_owned),
    ]
}

/// `depth` levels of objects and arrays around `leaf`.
fn nest(depth: usize, key: &str, leaf: Value) -> Value {
    (0..depth).fold(leaf, |inner, level| {
        if level % 2 == 0 {
            json!([inner])
        } else {
            let mut m = Map::new();
            m.insert(key.to_owned(), inner);
            Value::Object(m)
        }
    })
}

/// A value: a scalar, a unicode or NUL-bearing string, or a deep nesting.
fn tricky_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => scalar(),
        2 => "\\PC{0,8}".prop_map(Value::from),
        1 => ("[a-z]{0,3}", "\\PC{0,3}").prop_map(|(a, b)| Value::from(format!("{a}\u{0}{b}"))),
        1 => (1usize..150, tricky_key(), scalar()).prop_map(|(d, k, leaf)| nest(d, &k, leaf)),
    ]
}

/// `{min, max}`, sometimes broken.
fn range() -> impl Strategy<Value = Value> {
    prop_oneof![
        8 => (scalar(), scalar()).prop_map(|(a, b)| json!({"min": a, "max": b})),
        4 => (0i64..2300, 0i64..2300).prop_map(|(a, b)| json!({"min": a.min(b), "max": a.max(b)})),
        1 => scalar(),
        1 => Just(json!({"min": 1})),
    ]
}

/// Mostly a valid value from `valid`, sometimes anything.
fn mostly<S: Strategy<Value = Value> + 'static>(valid: S) -> BoxedStrategy<Value> {
    prop_oneof![12 => valid, 1 => scalar()].boxed()
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// `(start_time, end_time)`: mostly live (null), often a seeded historic window, sometimes odd.
fn window(legacy: bool) -> BoxedStrategy<(Value, Value)> {
    let now = now();
    let historic = if legacy {
        prop::sample::select(vec![
            ("250101000000", "250101001000"),
            ("250101000500", "250101000600"),
            ("250101001000", "250101000000"),
        ])
        .prop_map(|(a, b)| (Value::from(a), Value::from(b)))
        .boxed()
    } else {
        prop_oneof![
            Just((Value::from(1_735_689_600i64), Value::from(1_735_690_200i64))),
            (60i64..86_400 * 6, 1i64..3600).prop_map(move |(back, len)| (
                Value::from(now - back),
                Value::from(now - back + len)
            )),
        ]
        .boxed()
    };
    prop_oneof![
        6 => Just((Value::Null, Value::Null)),
        4 => historic,
        1 => (scalar(), scalar()),
        1 => (scalar(), Just(Value::Null)),
    ]
    .boxed()
}

/// A configure-like object: each known field mostly valid, sometimes absent or odd, plus
/// unknown fields.
fn payload() -> impl Strategy<Value = Value> {
    any::<bool>().prop_flat_map(|legacy| {
        (
            prop::option::weighted(0.97, mostly((1i64..10_000).prop_map(|h| json!({"height": h})))),
            prop::option::weighted(0.97, mostly((1i64..2222, 0i64..40).prop_map(|(a, n)| json!({"min": a, "max": (a + n).min(2222)})))),
            prop::option::weighted(0.97, mostly(prop_oneof![prop::sample::select(vec!["0", "1", "2"]).prop_map(Value::from), (0i64..3).prop_map(Value::from)])),
            prop::option::weighted(0.5, mostly((0.1f64..600.0).prop_map(Value::from))),
            prop::option::weighted(0.6, mostly(prop::sample::select(vec![1i64, 128, 256, 1024, 4096, 65536]).prop_map(Value::from))),
            prop::option::weighted(0.5, prop_oneof![3 => (0.0f64..900.0, 1.0f64..100.0).prop_map(|(a, w)| json!({"min": a, "max": a + w})), 1 => range()]),
            window(legacy),
            prop::collection::vec((tricky_key(), tricky_value()), 0..2),
            prop::option::weighted(0.2, (tricky_key(), tricky_value())),
            prop::option::weighted(0.1, (0usize..7, "\\PC{0,8}")),
            Just(legacy),
        )
    })
    .prop_map(|(display, channels, view, duration, nfft, freq, (start, end), extras, inner, dup, legacy)| {
        let mut m = Map::new();
        let (d, c) = if legacy { ("canvasInfo", "sensors") } else { ("displayInfo", "channels") };
        let mut put = |k: &str, v: Option<Value>| {
            if let Some(v) = v {
                m.insert(k.to_owned(), v);
            }
        };
        put(d, display);
        put(c, channels);
        put("view_type", view);
        put("displayTimeAxisDuration", duration);
        put("nfftSelection", nfft);
        put("frequencyRange", freq);
        put("start_time", Some(start));
        put("end_time", Some(end));
        for (k, v) in extras {
            put(&k, Some(v));
        }
        if let (Some((k, v)), Some(Value::Object(display))) = (inner, m.get_mut(d)) {
            display.insert(k, v);
        }
        let mut text = Value::Object(m).to_string();
        if let Some((field, value)) = dup {
            // A duplicate of a known key before the body's own: the last one counts.
            let key = [d, c, "view_type", "nfftSelection", "frequencyRange", "start_time", "\u{0}"][field];
            let dup = format!("{}: {}, ", Value::from(key), Value::from(value));
            text.insert_str(1, &dup);
            if text.ends_with(", }") {
                text = text.replace(", }", "}");
            }
        }
        json!({"legacy": legacy, "body": text})
    })
}

/// Raw bodies that are not even objects.
fn raw_body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..64),
        scalar().prop_map(|v| v.to_string().into_bytes()),
        Just(b"{\"displayInfo\": {\"height\": 1e400}}".to_vec()),
        Just(b"[{}]".to_vec()),
    ]
}

#[test]
fn random_payloads_never_get_a_5xx_and_never_crash_the_server() {
    // The composed strategies are deep; unoptimised builds need more than the default stack.
    std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(fuzz_configure)
        .expect("spawn the fuzz thread")
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
}

fn fuzz_configure() {
    let stack = shared_stack();
    let server = &stack.server;
    let mut runner = TestRunner::new(Config {
        cases: 10_000,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = prop_oneof![9 => payload().prop_map(Ok), 1 => raw_body().prop_map(Err)];
    let statuses = std::cell::RefCell::new(std::collections::BTreeMap::<u16, u32>::new());
    let counter = std::cell::Cell::new(0u64);
    runner
        .run(&strategy, |case| {
            counter.set(counter.get() + 1);
            let counter = counter.get();
            let prefix = if counter.is_multiple_of(2) {
                ""
            } else {
                "/focus-server"
            };
            let (path, body) = match case {
                Ok(p) if p["legacy"] == true => (
                    format!("{prefix}/config/fuzz-{counter}"),
                    p["body"].as_str().unwrap_or_default().as_bytes().to_vec(),
                ),
                Ok(p) => (
                    format!("{prefix}/configure?task_id=fuzz"),
                    p["body"].as_str().unwrap_or_default().as_bytes().to_vec(),
                ),
                Err(raw) => (format!("{prefix}/configure"), raw),
            };
            let r = support::http::request(
                server.addr(),
                "POST",
                &path,
                Some(&body),
                std::time::Duration::from_secs(10),
            )
            .map_err(|e| {
                TestCaseError::fail(format!(
                    "transport error (a panic?) on {path}: {e}; body {}",
                    String::from_utf8_lossy(&body)
                ))
            })?;
            *statuses.borrow_mut().entry(r.status).or_default() += 1;
            prop_assert!(
                r.status < 500,
                "{} on {path} for {}: {}",
                r.status,
                String::from_utf8_lossy(&body),
                r.body
            );
            let answer: Value = serde_json::from_str(&r.body)
                .map_err(|e| TestCaseError::fail(format!("not JSON: {e}: {}", r.body)))?;
            if r.status == 200 {
                let job = answer["job_id"].as_str().unwrap_or_default().to_owned();
                let del = server
                    .request("DELETE", &format!("/job/{job}"), None)
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(del.status, 200);
            } else {
                let error = answer["error"].as_str().unwrap_or_default();
                prop_assert!(
                    !error.is_empty() && !error.contains('\n'),
                    "bad error line: {}",
                    r.body
                );
                prop_assert!(answer.get("detail").is_some(), "no detail: {}", r.body);
            }
            Ok(())
        })
        .unwrap();
    let statuses = statuses.into_inner();
    eprintln!("statuses over {} cases: {statuses:?}", counter.get());
    assert!(
        statuses.get(&200).copied().unwrap_or(0) > 1000,
        "too few valid payloads to mean much: {statuses:?}"
    );
    assert!(
        statuses.contains_key(&400) && statuses.contains_key(&422),
        "{statuses:?}"
    );
    assert_eq!(
        server.get("/ack").unwrap().status,
        200,
        "the server survived"
    );
    // Every job-record write of the burst left the queue: none blocks it.
    testkit::wait_until(
        "pending_writes back to 0 after the burst",
        std::time::Duration::from_secs(60),
        || server.db_health()["pending_writes"] == 0,
    );
    let health = server.db_health();
    eprintln!(
        "after the burst: {} writes dead-lettered, {} dropped",
        health["pending_writes_dead_lettered"], health["pending_writes_dropped"]
    );
}
