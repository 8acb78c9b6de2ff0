//! The Focus Server's integration tests, in one binary: the API against a real MongoDB-wire
//! server, the real server's figures and endpoints, the pending-writes writer, the half-open
//! gate, outages (refused, blackholed, SIGSTOP), the gRPC data streams, and the request fuzzer.
//! `support` is the shared harness.

mod support;

mod api;
mod fidelity;
mod fuzz;
mod gate;
mod outage;
mod poison;
mod stream;
