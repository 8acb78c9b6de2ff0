//! The orchestration of a run: the plan (which files, which scenarios), the session that checks
//! the steady state, runs each scenario on a fresh instance and undoes its journal, and the
//! [`events`] it emits as it goes, which every report consumes. It drives the [`host`](crate::host)
//! and the engine; it knows no report format.

mod case;
pub mod events;
pub mod plan;
pub mod session;

pub use events::{EventHub, EventKind, EventSender, Reporter, RunEvent};
pub use plan::{Engine, Partition, PlanEntry, Selection, Source, load_plan};
pub use session::{Session, SessionSettings, announce, report_not_run, report_usage};
