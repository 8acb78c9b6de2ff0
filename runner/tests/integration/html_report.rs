//! The HTML report as a person sees it: a real run of the fixture guest against the memory
//! environment, with a failed scenario that scaled MongoDB to 0, rendered in headless Chromium
//! (Debian's `chromium`, which `./scripts/setup` installs). The rendered page must list every
//! scenario, show the failures at the top, draw one fault band per `fault-applied` event of
//! the run's `--events` file, and fetch nothing from the network. A screenshot is kept under
//! `target/scenario-reports/browser-test/` for a person to look at.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support;

use support::*;

/// A small HTTP service for the fixture's requests: `GET /steady` (the fixture's steady-state
/// hypothesis) and `GET /echo` answer 200, `POST
/// /configure` 503 after 120 ms (so that the timeline's latency axis has a range), `/job/…`
/// 200 (the rollback's steps), anything else 404.
fn start_service() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || answer(stream));
        }
    });
    port
}

fn answer(stream: TcpStream) {
    let mut reader = BufReader::new(stream);
    let mut head = String::new();
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap_or(0);
        }
        if line == "\r\n" {
            break;
        }
        head.push_str(&line);
    }
    let mut body = vec![0; length];
    let _ = reader.read_exact(&mut body);
    let path = head.split_whitespace().nth(1).unwrap_or("/");
    let (status, extra, text) = if path == "/steady" {
        ("200 OK", "", "steady")
    } else if path.starts_with("/echo") {
        ("200 OK", "", "echo")
    } else if path.starts_with("/configure") {
        // The service's own answer time, which the timeline shows as latency.
        std::thread::sleep(Duration::from_millis(120));
        ("503 Service Unavailable", "retry-after: 2\r\n", "down")
    } else if path.starts_with("/job/") {
        ("200 OK", "", "done")
    } else {
        ("404 Not Found", "", "no")
    };
    let mut stream = reader.into_inner();
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\n{extra}content-length: {}\r\nconnection: close\r\n\r\n{text}",
        text.len()
    );
}

/// Debian's chromium, or a failure that says how to get it.
fn chromium() -> PathBuf {
    testkit::find_on_path("chromium").unwrap_or_else(|| {
        panic!(
            "chromium is not on PATH: the HTML report's browser test needs Debian's `chromium`; \
             run ./scripts/setup (as root it installs it with apt-get)"
        )
    })
}

/// Runs headless chromium on `page` with `args`, its stdout into `stdout`, within a deadline;
/// panics with its stderr if it fails or hangs.
fn run_chromium(page: &Path, profile: &Path, args: &[String], stdout: &Path) {
    let stderr = stdout.with_extension("stderr.txt");
    let mut child = Command::new(chromium())
        .args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-default-apps",
            "--disable-extensions",
            "--disable-sync",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
            // Any name resolves to nothing: a fetch would fail, and still show in the net log.
            "--host-resolver-rules=MAP * ~NOTFOUND",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(stdout).unwrap())
        .stderr(std::fs::File::create(&stderr).unwrap())
        .spawn()
        .expect("start chromium");
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "chromium did not finish within 120 s: {}",
                std::fs::read_to_string(&stderr).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(
        status.success(),
        "chromium failed ({status}): {}",
        std::fs::read_to_string(&stderr).unwrap_or_default()
    );
}

/// The URLs of the requests the page itself made (the net log's URL requests whose network
/// isolation key is the `file://` page's), as opposed to the browser's own background ones.
fn page_requests(net_log: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(net_log).expect("chromium wrote its net log");
    let log: serde_json::Value = serde_json::from_str(&text).expect("the net log is JSON");
    let start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"].as_u64();
    assert!(
        start_job.is_some(),
        "no URL_REQUEST_START_JOB in the net log's constants"
    );
    log["events"]
        .as_array()
        .expect("the net log has events")
        .iter()
        .filter(|e| e["type"].as_u64() == start_job)
        .filter(|e| {
            e["params"]["network_isolation_key"]
                .as_str()
                .is_some_and(|key| key.starts_with("file://"))
        })
        .filter_map(|e| e["params"]["url"].as_str().map(str::to_owned))
        .filter(|url| !url.starts_with("file:"))
        .collect()
}

/// The values of every `name="…"` attribute in `dom`.
fn attribute_values<'a>(dom: &'a str, name: &str) -> Vec<&'a str> {
    let needle = format!(" {name}=\"");
    dom.match_indices(&needle)
        .map(|(at, _)| {
            let rest = &dom[at + needle.len()..];
            &rest[..rest.find('"').unwrap_or(rest.len())]
        })
        .collect()
}

/// The rendered HTML of the section of scenario `name` (`suite::name`).
fn section<'a>(dom: &'a str, name: &str) -> &'a str {
    let marker = format!("data-scenario=\"{name}\"");
    let start = dom
        .find(&marker)
        .unwrap_or_else(|| panic!("no section for {name} in the rendered page"));
    let end = dom[start..]
        .find("</section>")
        .map_or(dom.len(), |e| start + e);
    &dom[start..end]
}

#[test]
fn the_html_report_of_a_failed_run_renders_in_chromium_with_failures_first_and_one_band_per_fault()
{
    let browser = chromium();
    let port = start_service();
    let sim = SimConfig::with(
        "",
        &format!(
            "http_services = {{ api = \"http://127.0.0.1:{port}\", focus-server = \"http://127.0.0.1:{port}\" }}"
        ),
    );
    let dir = &sim.scratch.path;
    let html = dir.join("report.html");
    let events = dir.join("events.jsonl");
    let ran = run(runner(dir)
        .arg("run")
        .arg(&fixtures().guest)
        .args([
            "--tag", "smoke", "--tag", "http", "--tag", "rollback", "--tag", "fault",
        ])
        .args([
            "--exclude",
            "loops_forever",
            "--exclude",
            "sleeps_past_its_deadline",
        ])
        .args([
            "--exclude",
            "allocates_past_the_cap",
            "--param",
            "ending=fail",
        ])
        .arg("--junit")
        .arg(sim.junit())
        .arg("--html")
        .arg(&html)
        .arg("--events")
        .arg(&events));
    assert_eq!(
        ran.code, 1,
        "stdout:\n{}\nstderr:\n{}",
        ran.stdout, ran.stderr
    );
    assert!(
        ran.stdout
            .contains(&format!("HTML report: {}", html.display())),
        "{}",
        ran.stdout
    );
    assert_restored(&sim.operations());

    // What the run did, from its own event stream.
    let mut finished: Vec<(String, String)> = Vec::new();
    let mut faults = std::collections::BTreeMap::<String, usize>::new();
    for line in std::fs::read_to_string(&events).unwrap().lines() {
        let event: serde_json::Value = serde_json::from_str(line).unwrap();
        let name = format!(
            "{}::{}",
            event["suite"].as_str().unwrap_or_default(),
            event["scenario"].as_str().unwrap_or_default()
        );
        match event["event"].as_str().unwrap() {
            "fault-applied" => *faults.entry(name).or_default() += 1,
            "scenario-finished" => {
                finished.push((name, event["outcome"].as_str().unwrap().to_owned()))
            }
            _ => {}
        }
    }
    let failed = "runner_fixture::fails_an_assertion";
    assert!(
        finished.contains(&(failed.to_owned(), "failed".to_owned())),
        "{finished:?}"
    );
    assert!(faults.get(failed).is_some_and(|&n| n >= 1), "{faults:?}");
    assert!(finished.len() >= 7, "{finished:?}");

    // The page as chromium renders it, and every request it made.
    let kept = workspace_root()
        .join("target")
        .join("scenario-reports")
        .join("browser-test");
    std::fs::create_dir_all(&kept).unwrap();
    let page = kept.join("report.html");
    std::fs::copy(&html, &page).unwrap();
    let dom_file = dir.join("dom.html");
    let net_log = dir.join("net-log.json");
    run_chromium(
        &page,
        &dir.join("profile-dom"),
        &[
            format!("--log-net-log={}", net_log.display()),
            "--dump-dom".to_owned(),
        ],
        &dom_file,
    );
    let dom = std::fs::read_to_string(&dom_file).unwrap();
    assert!(dom.contains("<h1>Scenario report</h1>"), "{dom}");

    // Every scenario is there, once, in run order.
    let sections = attribute_values(&dom, "data-scenario");
    let expected: Vec<&str> = finished.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        sections, expected,
        "the page's sections against the run's scenarios"
    );

    // The failure is at the top: the "Not passed" list comes before the first scenario and
    // links to the failed one's section.
    let failures = dom.find("id=\"failures\"").expect("a Not passed list");
    let first_section = dom.find("<section class=\"scenario").unwrap();
    assert!(
        failures < first_section,
        "the Not passed list is not at the top"
    );
    let list = &dom[failures..first_section];
    let number = expected.iter().position(|n| *n == failed).unwrap() + 1;
    assert!(
        list.contains(&format!("href=\"#s-{number}\">{failed}</a>"))
            && list.contains("expected 503 within 5.00 s, got 200 after 15.42 s"),
        "{list}"
    );
    for (name, outcome) in &finished {
        let listed = list.contains(&format!(">{name}</a>"));
        let bad = outcome == "failed" || outcome == "error";
        assert_eq!(
            listed, bad,
            "{name} ({outcome}) in the Not passed list: {listed}"
        );
        assert!(
            section(&dom, name).contains(&format!("data-outcome=\"{outcome}\"")),
            "{name}"
        );
    }

    // One band per applied fault, in every scenario's timeline.
    for (name, _) in &finished {
        let bands = section(&dom, name).matches("class=\"fault-band\"").count();
        let applied = faults.get(name).copied().unwrap_or(0);
        assert_eq!(
            bands, applied,
            "{name}: fault bands against fault-applied events"
        );
    }
    let failed_section = section(&dom, failed);
    assert!(
        failed_section.contains("<svg class=\"timeline\""),
        "{failed_section}"
    );
    assert!(failed_section.contains("mongodb"), "{failed_section}");
    let configures = section(&dom, "runner_fixture::configures_once");
    assert!(
        configures.contains("class=\"request-mark\" data-status=\"5xx\""),
        "{configures}"
    );

    // Nothing fetched: the page names no resource outside itself, forbids fetching any, and
    // made no request.
    for value in attribute_values(&dom, "src")
        .into_iter()
        .chain(attribute_values(&dom, "href"))
    {
        assert!(value.starts_with('#'), "the page refers to {value}");
    }
    let style = &dom[dom.find("<style>").unwrap()..dom.find("</style>").unwrap()];
    assert!(
        !style.contains("url(") && !style.contains("@import"),
        "the style sheet refers to a URL"
    );
    assert!(!dom.contains("<script"), "the page holds a script");
    assert!(
        dom.contains("http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\""),
        "no strict Content-Security-Policy"
    );
    let requests = page_requests(&net_log);
    assert!(requests.is_empty(), "the page fetched {requests:?}");
    // The check above would have seen a fetch: the same page with an outside image and
    // without its policy makes one.
    let control = dir.join("control.html");
    let text = std::fs::read_to_string(&page).unwrap();
    let csp_start = text.find("<meta http-equiv").unwrap();
    let csp_end = csp_start + text[csp_start..].find('>').unwrap() + 1;
    std::fs::write(
        &control,
        format!(
            "{}{}<img src=\"https://example.invalid/x.png\">{}",
            &text[..csp_start],
            &text[csp_end..text.find("</body>").unwrap()],
            &text[text.find("</body>").unwrap()..]
        ),
    )
    .unwrap();
    let control_log = dir.join("control-net-log.json");
    run_chromium(
        &control,
        &dir.join("profile-control"),
        &[
            format!("--log-net-log={}", control_log.display()),
            "--dump-dom".to_owned(),
        ],
        &dir.join("control-dom.html"),
    );
    assert_eq!(
        page_requests(&control_log),
        ["https://example.invalid/x.png"],
        "the net log check does not see a page's fetch"
    );

    // A screenshot for a person to look at.
    let screenshot = kept.join("report.png");
    let _ = std::fs::remove_file(&screenshot);
    run_chromium(
        &page,
        &dir.join("profile-shot"),
        &[
            format!("--screenshot={}", screenshot.display()),
            "--window-size=1280,1500".to_owned(),
        ],
        &dir.join("screenshot-out.txt"),
    );
    let png = std::fs::read(&screenshot).expect("chromium wrote the screenshot");
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000,
        "{} is not a screenshot of the page ({} bytes)",
        screenshot.display(),
        png.len()
    );
    eprintln!(
        "HTML report rendered by {}: {} (screenshot {})",
        browser.display(),
        page.display(),
        screenshot.display()
    );
}

#[test]
fn the_html_report_goes_beside_the_junit_report_unless_told_otherwise() {
    let sim = SimConfig::new();
    let dir = &sim.scratch.path;
    let smoke = |extra: &[&str]| {
        let ran = run(runner(dir)
            .args(["run", "--tag", "smoke"])
            .args(extra)
            .arg(&fixtures().guest));
        assert_eq!(ran.code, 1, "{}", ran.stderr);
        ran
    };
    let by_default = dir.join("target/scenario-reports/report.html");
    let ran = smoke(&[]);
    assert!(
        ran.stdout
            .contains(&format!("HTML report: {}", by_default.display())),
        "{}",
        ran.stdout
    );
    let page = std::fs::read_to_string(&by_default).unwrap();
    assert!(page.contains("1 of 3 did not pass"), "{page}");

    smoke(&["--junit", "ci/junit.xml"]);
    assert!(dir.join("ci/report.html").is_file());

    let ran = smoke(&["--junit", "ci/junit.xml", "--html", "pages/run.html"]);
    assert!(dir.join("pages/run.html").is_file());
    assert!(
        ran.stdout.contains(&format!(
            "HTML report: {}",
            dir.join("pages/run.html").display()
        )),
        "{}",
        ran.stdout
    );
}
