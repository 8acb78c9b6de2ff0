//! A TCP proxy with a fault pipeline in Toxiproxy's model.
//!
//! Each proxied connection has two lanes, upstream (client → server) and downstream (server →
//! client). Every [`Fault`] in place acts on the lanes its [`Direction`] names, as one stage of
//! a chain; several faults compose in the order they were added. Whether a fault affects a
//! connection (its toxicity) is decided once per connection and fault, when the connection
//! first meets the fault. Faults apply to new connections and to open ones alike: a latency
//! added while a connection is open delays its next bytes; a blackhole stops it at once.
//!
//! - [`pipe`] moves the bytes of one connection through the faults of a [`Conditions`] watch;
//!   the local environment's Service drives it with its own state.
//! - [`Proxy`] is a small standalone proxy (one listener, one upstream, a [`FaultTable`]), for
//!   benchmarks and a future proxy subcommand.

mod fault;
mod lane;
mod pipe;
mod proxy;
mod shape;
mod table;

pub use fault::{ActiveFault, Direction, Fault, FaultError, FaultId, FaultKind, MAX_WAIT, next_id};
pub use pipe::{Conditions, Gate, admit, pipe, reset};
pub use proxy::Proxy;
pub use table::FaultTable;
