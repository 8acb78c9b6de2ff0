//! The Focus Server's integration tests, in one binary: the API against a real MongoDB-wire
//! server, outages (refused, blackholed, SIGSTOP), the gRPC data streams, and the request
//! fuzzer. `support` is the shared harness.

mod support;

mod api;
mod fuzz;
mod outage;
mod stream;
