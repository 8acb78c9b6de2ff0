//! Table tests: every rule with its exact error text and status.

use serde_json::{Value, json};

use super::*;

const NOW: f64 = 1_800_000_000.0;
const LIMITS: Limits = Limits {
    highest_channel: 2222,
    prr: 2000.0,
    now: NOW,
};

fn valid() -> Value {
    json!({
        "displayInfo": {"height": 1000},
        "channels": {"min": 1, "max": 50},
        "view_type": "0",
        "displayTimeAxisDuration": 10,
        "nfftSelection": 1024,
        "frequencyRange": {"min": 0, "max": 500},
        "start_time": null,
        "end_time": null,
    })
}

/// `valid()` with `path` (dotted) set to `value`, or removed when `value` is `None`.
fn with(path: &str, value: Option<Value>) -> Value {
    let mut body = valid();
    let mut parts: Vec<&str> = path.split('.').collect();
    let last = parts.pop().unwrap();
    let mut target = &mut body;
    for p in parts {
        target = target.get_mut(p).unwrap();
    }
    let obj = target.as_object_mut().unwrap();
    match value {
        Some(v) => obj.insert(last.to_owned(), v),
        None => obj.remove(last),
    };
    body
}

fn outcome(body: &Value, form: Form) -> Result<(), (u16, String)> {
    let bytes = serde_json::to_vec(body).unwrap();
    let (req, _) =
        parse_configure(&bytes, form).map_err(|r| (r.status(), r.message().to_owned()))?;
    check_rules(&req, &LIMITS).map_err(|r| (r.status(), r.message().to_owned()))
}

#[test]
fn the_valid_request_passes_in_every_view() {
    assert_eq!(outcome(&valid(), Form::Modern), Ok(()));
    let single = with("channels", Some(json!({"min": 7, "max": 7})));
    assert_eq!(outcome(&with_view(single, json!(1)), Form::Modern), Ok(()));
    let waterfall = json!({"displayInfo": {"height": 200}, "channels": {"min": 1, "max": 2222}, "view_type": 2, "nfftSelection": 1});
    assert_eq!(outcome(&waterfall, Form::Modern), Ok(()));
    let historic = json!({"displayInfo": {"height": 1}, "channels": {"min": 1, "max": 1}, "view_type": "0",
        "start_time": NOW - 600.0, "end_time": NOW, "unknownField": {"ignored": true}});
    assert_eq!(outcome(&historic, Form::Modern), Ok(()));
}

fn with_view(mut body: Value, view: Value) -> Value {
    body["view_type"] = view;
    body
}

#[test]
fn every_rule_has_its_status_and_exact_text() {
    let table: Vec<(Value, u16, &str)> = vec![
        // Schema: 422.
        (
            with("displayInfo", None),
            422,
            "displayInfo.height: field required",
        ),
        (
            with("displayInfo.height", None),
            422,
            "displayInfo.height: field required",
        ),
        (
            with("displayInfo.height", Some(json!("1000"))),
            422,
            "displayInfo.height: expected an integer, got a string",
        ),
        (
            with("displayInfo.height", Some(json!(10.5))),
            422,
            "displayInfo.height: expected an integer, got a number with a fraction",
        ),
        (
            with("displayInfo", Some(json!(5))),
            422,
            "displayInfo: expected an object, got an integer",
        ),
        (with("channels", None), 422, "channels: field required"),
        (
            with("channels", Some(Value::Null)),
            422,
            "channels: field required",
        ),
        (
            with("channels.min", None),
            422,
            "channels.min: field required",
        ),
        (
            with("channels.max", Some(json!(true))),
            422,
            "channels.max: expected an integer, got a boolean",
        ),
        (with("view_type", None), 422, "view_type: field required"),
        (
            with("view_type", Some(json!("3"))),
            422,
            "view_type: must be \"0\" (multichannel), \"1\" (single-channel) or \"2\" (waterfall), got \"3\"",
        ),
        (
            with("view_type", Some(json!(7))),
            422,
            "view_type: must be \"0\" (multichannel), \"1\" (single-channel) or \"2\" (waterfall), got 7",
        ),
        (
            with("view_type", Some(json!([0]))),
            422,
            "view_type: must be \"0\" (multichannel), \"1\" (single-channel) or \"2\" (waterfall), got an array",
        ),
        (
            with("nfftSelection", Some(json!("1024"))),
            422,
            "nfftSelection: expected an integer, got a string",
        ),
        (
            with("displayTimeAxisDuration", Some(json!({}))),
            422,
            "displayTimeAxisDuration: expected a number, got an object",
        ),
        (
            with("frequencyRange", Some(json!({"min": 0}))),
            422,
            "frequencyRange.max: field required",
        ),
        (
            with("frequencyRange", Some(json!([0, 500]))),
            422,
            "frequencyRange: expected an object, got an array",
        ),
        (
            with("start_time", Some(json!("yesterday"))),
            422,
            "start_time: expected a number, got a string",
        ),
        (
            json!([1, 2]),
            422,
            "body: expected a JSON object, got an array",
        ),
        // Rules: 400.
        (
            with("channels.min", Some(json!(0))),
            400,
            "channels.min: must be at least 1, got 0",
        ),
        (
            with("channels.max", Some(json!(2223))),
            400,
            "channels.max: must be at most 2222 (the highest channel), got 2223",
        ),
        (
            with("channels", Some(json!({"min": 9, "max": 3}))),
            400,
            "channels: min must not exceed max, got min=9 max=3",
        ),
        (
            with_view(valid(), json!("1")),
            400,
            "channels: single-channel view (view_type 1) needs min == max, got min=1 max=50",
        ),
        (
            with("nfftSelection", Some(json!(1000))),
            400,
            "nfftSelection: must be a power of two from 128 to 65536, got 1000",
        ),
        (
            with("nfftSelection", Some(json!(64))),
            400,
            "nfftSelection: must be a power of two from 128 to 65536, got 64",
        ),
        (
            with("nfftSelection", Some(json!(131072))),
            400,
            "nfftSelection: must be a power of two from 128 to 65536, got 131072",
        ),
        (
            with_view(valid(), json!(2)),
            400,
            "nfftSelection: waterfall view (view_type 2) takes nfftSelection 1 or none, got 1024",
        ),
        (
            with_view(with("nfftSelection", None), json!(2)),
            400,
            "frequencyRange: waterfall view (view_type 2) takes no frequencyRange",
        ),
        (
            with_view(with("frequencyRange", None), json!("2"))
                .pipe(|b| with_in(b, "nfftSelection", None)),
            400,
            "displayTimeAxisDuration: waterfall view (view_type 2) takes no displayTimeAxisDuration",
        ),
        (
            with("frequencyRange", Some(json!({"min": -1, "max": 500}))),
            400,
            "frequencyRange.min: must be at least 0, got -1",
        ),
        (
            with("frequencyRange", Some(json!({"min": 0, "max": 1000.5}))),
            400,
            "frequencyRange.max: must be at most 1000 (Nyquist, PRR/2), got 1000.5",
        ),
        (
            with("frequencyRange", Some(json!({"min": 10, "max": 10.5}))),
            400,
            "frequencyRange: max must exceed min by at least 1 Hz, got min=10 max=10.5",
        ),
        (
            with("frequencyRange", Some(json!({"min": 600, "max": 500}))),
            400,
            "frequencyRange: max must exceed min by at least 1 Hz, got min=600 max=500",
        ),
        (
            with("displayInfo.height", Some(json!(0))),
            400,
            "displayInfo.height: must be from 1 to 10000, got 0",
        ),
        (
            with("displayInfo.height", Some(json!(10001))),
            400,
            "displayInfo.height: must be from 1 to 10000, got 10001",
        ),
        (
            with("displayTimeAxisDuration", Some(json!(0))),
            400,
            "displayTimeAxisDuration: must be greater than 0, got 0",
        ),
        (
            with("start_time", Some(json!(NOW - 10.0))),
            400,
            "end_time: give both start_time and end_time (historic) or neither (live), got only start_time",
        ),
        (
            with("end_time", Some(json!(NOW))),
            400,
            "start_time: give both start_time and end_time (historic) or neither (live), got only end_time",
        ),
        (
            window(-10.0, 10.0),
            400,
            "start_time: must not be negative, got -10",
        ),
        (
            window(NOW - 10.0, NOW + 60.0),
            400,
            "end_time: must not be in the future, got 1800000060 (now is 1800000000)",
        ),
        (
            window(NOW - 10.0, NOW - 20.0),
            400,
            "end_time: must be after start_time, got start_time=1799999990 end_time=1799999980",
        ),
        (
            window(NOW - 10.0, NOW - 10.0),
            400,
            "end_time: must be after start_time, got start_time=1799999990 end_time=1799999990",
        ),
        (
            window(NOW - 90_000.0, NOW),
            400,
            "end_time: the window must be at most 86400 s long, got 90000 s",
        ),
    ];
    for (body, status, text) in table {
        assert_eq!(
            outcome(&body, Form::Modern),
            Err((status, text.to_owned())),
            "body: {body}"
        );
    }
}

fn window(start: f64, end: f64) -> Value {
    with_in(
        with("start_time", Some(json!(start))),
        "end_time",
        Some(json!(end)),
    )
}

fn with_in(mut body: Value, key: &str, value: Option<Value>) -> Value {
    let obj = body.as_object_mut().unwrap();
    match value {
        Some(v) => obj.insert(key.to_owned(), v),
        None => obj.remove(key),
    };
    body
}

trait Pipe: Sized {
    fn pipe(self, f: impl FnOnce(Self) -> Self) -> Self {
        f(self)
    }
}
impl Pipe for Value {}

#[test]
fn bodies_that_are_not_json_objects_get_422() {
    for (body, text) in [
        (&b""[..], "body: expected a JSON object, got an empty body"),
        (
            b"{not json",
            "body: not valid JSON: key must be a string at line 1 column 2",
        ),
        (b"null", "body: expected a JSON object, got null"),
    ] {
        let err = parse_configure(body, Form::Modern).unwrap_err();
        assert_eq!((err.status(), err.message()), (422, text));
    }
}

#[test]
fn the_legacy_form_of_the_ticket_parses_and_passes() {
    let ticket = json!({"displayTimeAxisDuration": 10, "nfftSelection": 1024, "canvasInfo": {"height": 1000},
        "sensors": {"min": 1, "max": 3}, "frequencyRange": {"min": 0, "max": 500},
        "start_time": "250101000000", "end_time": "250101001000"});
    assert_eq!(outcome(&ticket, Form::Legacy), Ok(()));
    let (req, _) = parse_configure(ticket.to_string().as_bytes(), Form::Legacy).unwrap();
    assert_eq!(req.window(), Some((1_735_689_600.0, 1_735_690_200.0)));
    assert_eq!(req.view, ViewType::Multichannel);
}

#[test]
fn the_legacy_form_names_its_own_fields() {
    let base = json!({"canvasInfo": {"height": 1000}, "sensors": {"min": 0, "max": 3}});
    assert_eq!(
        outcome(&base, Form::Legacy),
        Err((400, "sensors.min: must be at least 1, got 0".into()))
    );
    let no_canvas = json!({"sensors": {"min": 1, "max": 3}});
    assert_eq!(
        outcome(&no_canvas, Form::Legacy),
        Err((422, "canvasInfo.height: field required".into()))
    );
    let bad_time = json!({"canvasInfo": {"height": 10}, "sensors": {"min": 1, "max": 3}, "start_time": "2501010000", "end_time": null});
    assert_eq!(
        outcome(&bad_time, Form::Legacy),
        Err((422, "start_time: expected a yymmddHHMMSS string (UTC) or null, got \"2501010000\": expected 12 digits".into()))
    );
    let number_time = json!({"canvasInfo": {"height": 10}, "sensors": {"min": 1, "max": 3}, "start_time": 5, "end_time": null});
    assert_eq!(
        outcome(&number_time, Form::Legacy),
        Err((
            422,
            "start_time: expected a yymmddHHMMSS string (UTC) or null, got an integer".into()
        ))
    );
}

#[test]
fn all_problems_are_listed_first_one_first() {
    let body = json!({"displayInfo": {"height": 0}, "channels": {"min": 0, "max": 1}, "view_type": 0, "nfftSelection": 3});
    let bytes = serde_json::to_vec(&body).unwrap();
    let (req, _) = parse_configure(&bytes, Form::Modern).unwrap();
    let err = check_rules(&req, &LIMITS).unwrap_err();
    let lines: Vec<&str> = err.problems().iter().map(|p| p.0.as_str()).collect();
    assert_eq!(
        lines,
        [
            "displayInfo.height: must be from 1 to 10000, got 0",
            "channels.min: must be at least 1, got 0",
            "nfftSelection: must be a power of two from 128 to 65536, got 3",
        ]
    );
}

#[test]
fn at_most_2222_channels_in_one_request_on_a_longer_fiber() {
    let long_fiber = Limits {
        highest_channel: 5000,
        ..LIMITS
    };
    let body = with("channels", Some(json!({"min": 1, "max": 3000})));
    let (req, _) = parse_configure(body.to_string().as_bytes(), Form::Modern).unwrap();
    let err = check_rules(&req, &long_fiber).unwrap_err();
    assert_eq!(
        (err.status(), err.message()),
        (
            400,
            "channels: at most 2222 channels in one request, got 3000"
        )
    );
    let ok = with("channels", Some(json!({"min": 2779, "max": 5000})));
    let (req, _) = parse_configure(ok.to_string().as_bytes(), Form::Modern).unwrap();
    assert_eq!(check_rules(&req, &long_fiber), Ok(()));
}

#[test]
fn the_recordings_window_is_checked() {
    assert_eq!(
        parse_window(br#"{"start_time": 10, "end_time": 20}"#),
        Ok((10.0, 20.0))
    );
    let err = parse_window(br#"{"start_time": 10}"#).unwrap_err();
    assert_eq!(
        (err.status(), err.message()),
        (422, "end_time: field required")
    );
    let err = check_window(20.0, 10.0, NOW).unwrap_err();
    assert_eq!(
        (err.status(), err.message()),
        (
            400,
            "end_time: must be after start_time, got start_time=20 end_time=10"
        )
    );
}
