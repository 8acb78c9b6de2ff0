//! Delivering events: [`EventSender`] stamps and bounds them, [`EventHub`] feeds them in order
//! to every [`Reporter`] on a task of its own.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::{EventKind, MAX_DETAIL_EVENTS, RunEvent};
use crate::report::Counts;

/// A consumer of run events.
pub trait Reporter: Send {
    /// Takes one event; events come in the order they happened.
    fn event(&mut self, event: &RunEvent);
    /// The run is over: writes what is left, and says what could not be written.
    fn finish(&mut self) -> Result<(), crate::report::WriteError> {
        Ok(())
    }
}

/// Emits events to the run's reporters; cheap to clone. A sender made for one scenario stamps
/// its events with it and bounds its detail events.
#[derive(Clone)]
pub struct EventSender {
    tx: Option<mpsc::UnboundedSender<RunEvent>>,
    started: Instant,
    suite: Option<Arc<str>>,
    scenario: Option<Arc<str>>,
    details: Arc<AtomicU64>,
    counts: Arc<std::sync::Mutex<Counts>>,
}

impl std::fmt::Debug for EventSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventSender")
            .field("suite", &self.suite)
            .field("scenario", &self.scenario)
            .finish_non_exhaustive()
    }
}

impl Default for EventSender {
    fn default() -> Self {
        Self::detached()
    }
}

impl EventSender {
    /// A sender that drops every event, for hosts outside a run (listing, benchmarks).
    pub fn detached() -> Self {
        Self {
            tx: None,
            started: Instant::now(),
            suite: None,
            scenario: None,
            details: Arc::default(),
            counts: Arc::default(),
        }
    }

    /// The same run's sender for the component `suite`.
    pub fn for_suite(&self, suite: &str) -> Self {
        Self {
            suite: Some(suite.into()),
            scenario: None,
            details: Arc::default(),
            ..self.clone()
        }
    }

    /// The same run's sender for scenario `name` of `suite`, with its own bound.
    pub fn for_scenario(&self, suite: &str, name: &str) -> Self {
        Self {
            suite: Some(suite.into()),
            scenario: Some(name.into()),
            details: Arc::default(),
            ..self.clone()
        }
    }

    /// Time since the run started.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Emits `kind` now. Detail events past [`MAX_DETAIL_EVENTS`] for one scenario are counted,
    /// not sent.
    pub fn emit(&self, kind: EventKind) {
        let Some(tx) = &self.tx else { return };
        let detail = matches!(
            kind,
            EventKind::HostCall { .. }
                | EventKind::RequestSent { .. }
                | EventKind::RequestAnswered { .. }
                | EventKind::Log { .. }
        );
        if detail && self.details.fetch_add(1, Ordering::Relaxed) >= MAX_DETAIL_EVENTS {
            return;
        }
        if let EventKind::ScenarioFinished { case, .. } = &kind {
            let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
            counts.add(&case.0.outcome);
        }
        // A closed channel means the reporters are gone; nothing is left to tell.
        let _ = tx.send(RunEvent {
            t: self.started.elapsed(),
            suite: self.suite.clone(),
            scenario: self.scenario.clone(),
            kind,
        });
    }

    /// Emits `run-finished` with the counts of every `scenario-finished` sent so far.
    pub fn run_finished(&self, interrupted: bool) {
        let counts = *self.counts.lock().unwrap_or_else(|p| p.into_inner());
        self.emit(EventKind::RunFinished {
            counts,
            interrupted,
        });
    }

    /// How many detail events this scenario's sender left out.
    pub fn dropped(&self) -> u64 {
        self.details
            .load(Ordering::Relaxed)
            .saturating_sub(MAX_DETAIL_EVENTS)
    }
}

/// The run's reporters, each fed on a task of their own, in order.
pub struct EventHub {
    sender: EventSender,
    task: tokio::task::JoinHandle<Vec<Box<dyn Reporter>>>,
}

impl EventHub {
    /// Starts feeding `reporters` with the events of a run that starts now.
    pub fn start(mut reporters: Vec<Box<dyn Reporter>>) -> Self {
        let (tx, mut rx) = mpsc::unbounded_channel::<RunEvent>();
        let task = tokio::spawn(async move {
            while let Some(event) = rx.recv().await {
                let last = matches!(event.kind, EventKind::RunFinished { .. });
                for reporter in &mut reporters {
                    reporter.event(&event);
                }
                if last {
                    break;
                }
            }
            reporters
        });
        let sender = EventSender {
            tx: Some(tx),
            ..EventSender::detached()
        };
        Self { sender, task }
    }

    /// The run's sender.
    pub fn sender(&self) -> &EventSender {
        &self.sender
    }

    /// Waits until every event up to `run-finished` is consumed, then finishes each reporter;
    /// the errors of those that could not write.
    pub async fn finish(self) -> Vec<crate::report::WriteError> {
        drop(self.sender);
        let mut reporters = match self.task.await {
            Ok(reporters) => reporters,
            Err(e) => {
                crate::errln!("error: a reporter stopped: {e}");
                return Vec::new();
            }
        };
        reporters
            .iter_mut()
            .filter_map(|r| r.finish().err())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    struct Collect(Arc<Mutex<Vec<RunEvent>>>);
    impl Reporter for Collect {
        fn event(&mut self, event: &RunEvent) {
            self.0.lock().unwrap().push(event.clone());
        }
    }

    #[tokio::test]
    async fn reporters_get_every_event_in_order_and_details_are_bounded() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let hub = EventHub::start(vec![Box::new(Collect(seen.clone()))]);
        let scenario = hub.sender().for_scenario("suite", "name");
        for i in 0..(MAX_DETAIL_EVENTS + 5) {
            scenario.emit(EventKind::Log {
                level: "INFO",
                message: format!("line {i}"),
            });
        }
        scenario.emit(EventKind::Annotation {
            key: "k".into(),
            value: "v".into(),
        });
        assert_eq!(scenario.dropped(), 5);
        hub.sender().emit(EventKind::RunFinished {
            counts: Counts::default(),
            interrupted: false,
        });
        assert!(hub.finish().await.is_empty());
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len() as u64, MAX_DETAIL_EVENTS + 2);
        assert!(matches!(seen[0].kind, EventKind::Log { ref message, .. } if message == "line 0"));
        assert!(matches!(
            seen[seen.len() - 2].kind,
            EventKind::Annotation { .. }
        ));
        assert!(seen.windows(2).all(|w| w[0].t <= w[1].t));
    }
}
