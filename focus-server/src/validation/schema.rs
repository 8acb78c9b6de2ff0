//! The schema stage: JSON shape and types (422).

use serde_json::{Map, Value};

use super::{ConfigureRequest, Form, Problem, Rejection, ViewType};
use crate::timefmt::parse_yymmddhhmmss;

/// What kind of JSON value this is, for "got …" in messages.
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "an integer",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Collects schema problems while reading fields.
struct Reader {
    problems: Vec<Problem>,
}

impl Reader {
    fn fail(&mut self, field: &str, rule: String) {
        self.problems.push(Problem(format!("{field}: {rule}")));
    }

    /// A present, non-null value, or records "field required".
    fn required<'a>(
        &mut self,
        obj: &'a Map<String, Value>,
        key: &str,
        path: &str,
    ) -> Option<&'a Value> {
        match obj.get(key) {
            None | Some(Value::Null) => {
                self.fail(path, "field required".to_owned());
                None
            }
            Some(v) => Some(v),
        }
    }

    fn object<'a>(&mut self, v: &'a Value, path: &str) -> Option<&'a Map<String, Value>> {
        match v {
            Value::Object(m) => Some(m),
            other => {
                self.fail(path, format!("expected an object, got {}", kind(other)));
                None
            }
        }
    }

    fn integer(&mut self, v: &Value, path: &str) -> Option<i64> {
        let got = match v {
            Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    return Some(i);
                }
                if n.as_u64().is_some() {
                    return Some(i64::MAX);
                }
                match n.as_f64() {
                    Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => return Some(f as i64),
                    _ => "a number with a fraction",
                }
            }
            other => kind(other),
        };
        self.fail(path, format!("expected an integer, got {got}"));
        None
    }

    fn number(&mut self, v: &Value, path: &str) -> Option<f64> {
        match v {
            Value::Number(n) => n.as_f64(),
            other => {
                self.fail(path, format!("expected a number, got {}", kind(other)));
                None
            }
        }
    }

    fn required_integer(&mut self, obj: &Map<String, Value>, key: &str, path: &str) -> Option<i64> {
        self.required(obj, key, path)
            .and_then(|v| self.integer(v, path))
    }

    /// `{min, max}` with both required, read by `read`.
    fn range<T>(
        &mut self,
        v: &Value,
        path: &str,
        read: impl Fn(&mut Self, &Value, &str) -> Option<T>,
    ) -> Option<(T, T)> {
        let obj = self.object(v, path)?;
        let (min_path, max_path) = (format!("{path}.min"), format!("{path}.max"));
        let min = self
            .required(obj, "min", &min_path)
            .and_then(|m| read(self, m, &min_path));
        let max = self
            .required(obj, "max", &max_path)
            .and_then(|m| read(self, m, &max_path));
        min.zip(max)
    }

    fn view_type(&mut self, v: &Value) -> Option<ViewType> {
        let code = match v {
            Value::String(s) => s.trim().parse::<i64>().ok(),
            Value::Number(n) => n.as_i64(),
            _ => None,
        };
        match code {
            Some(0) => Some(ViewType::Multichannel),
            Some(1) => Some(ViewType::SingleChannel),
            Some(2) => Some(ViewType::Waterfall),
            _ => {
                let shown = match v {
                    Value::String(s) => format!("{s:?}"),
                    Value::Number(n) => n.to_string(),
                    other => kind(other).to_owned(),
                };
                self.fail(
                    "view_type",
                    format!("must be \"0\" (multichannel), \"1\" (single-channel) or \"2\" (waterfall), got {shown}"),
                );
                None
            }
        }
    }

    /// An optional time: epoch seconds (modern) or `yymmddHHMMSS` (legacy); null = absent.
    fn time(&mut self, obj: &Map<String, Value>, key: &str, form: Form) -> Option<f64> {
        let v = obj.get(key).filter(|v| !v.is_null())?;
        match (form, v) {
            (Form::Modern, v) => self.number(v, key),
            (Form::Legacy, Value::String(s)) => match parse_yymmddhhmmss(s) {
                Ok(t) => Some(t as f64),
                Err(why) => {
                    self.fail(
                        key,
                        format!("expected a yymmddHHMMSS string (UTC) or null, got {s:?}: {why}"),
                    );
                    None
                }
            },
            (Form::Legacy, other) => {
                self.fail(
                    key,
                    format!(
                        "expected a yymmddHHMMSS string (UTC) or null, got {}",
                        kind(other)
                    ),
                );
                None
            }
        }
    }
}

fn parse_body(body: &[u8]) -> Result<Map<String, Value>, Rejection> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        let line = if body.iter().all(u8::is_ascii_whitespace) {
            "body: expected a JSON object, got an empty body".to_owned()
        } else {
            format!("body: not valid JSON: {e}")
        };
        Rejection::Schema(vec![Problem(line)])
    })?;
    match value {
        Value::Object(m) => Ok(m),
        other => Err(Rejection::Schema(vec![Problem(format!(
            "body: expected a JSON object, got {}",
            kind(&other)
        ))])),
    }
}

/// Reads a configure body of `form`: 422 with every schema problem, or the typed request.
pub fn parse_configure(body: &[u8], form: Form) -> Result<(ConfigureRequest, Value), Rejection> {
    let obj = parse_body(body)?;
    let mut r = Reader {
        problems: Vec::new(),
    };
    if let Err(p) = super::check_storable(&obj) {
        r.problems.push(p);
    }
    let display = form.display_field();
    let height = r
        .required(&obj, display, &format!("{display}.height"))
        .and_then(|d| r.object(d, display))
        .and_then(|d| r.required_integer(d, "height", &format!("{display}.height")));
    let chans = form.channels_field();
    let channels = r
        .required(&obj, chans, chans)
        .and_then(|c| r.range(c, chans, Reader::integer));
    let view = match form {
        Form::Modern => r
            .required(&obj, "view_type", "view_type")
            .and_then(|v| r.view_type(v)),
        Form::Legacy => Some(ViewType::Multichannel),
    };
    let opt = |key: &str| obj.get(key).filter(|v| !v.is_null());
    let duration =
        opt("displayTimeAxisDuration").and_then(|v| r.number(v, "displayTimeAxisDuration"));
    let nfft = opt("nfftSelection").and_then(|v| r.integer(v, "nfftSelection"));
    let frequency =
        opt("frequencyRange").and_then(|v| r.range(v, "frequencyRange", Reader::number));
    let start_time = r.time(&obj, "start_time", form);
    let end_time = r.time(&obj, "end_time", form);
    if !r.problems.is_empty() {
        return Err(Rejection::Schema(r.problems));
    }
    let (Some(height), Some((channel_min, channel_max)), Some(view)) = (height, channels, view)
    else {
        return Err(Rejection::Schema(vec![Problem("body: invalid".into())]));
    };
    let req = ConfigureRequest {
        form,
        height,
        channel_min,
        channel_max,
        view,
        duration,
        nfft,
        frequency,
        start_time,
        end_time,
    };
    Ok((req, Value::Object(obj)))
}

/// Reads `{start_time, end_time}` (both required epoch seconds) of the recordings query.
pub fn parse_window(body: &[u8]) -> Result<(f64, f64), Rejection> {
    let obj = parse_body(body)?;
    let mut r = Reader {
        problems: Vec::new(),
    };
    let start = r
        .required(&obj, "start_time", "start_time")
        .and_then(|v| r.number(v, "start_time"));
    let end = r
        .required(&obj, "end_time", "end_time")
        .and_then(|v| r.number(v, "end_time"));
    match start.zip(end) {
        Some(w) if r.problems.is_empty() => Ok(w),
        _ => Err(Rejection::Schema(r.problems)),
    }
}
