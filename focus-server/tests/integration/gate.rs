//! The half-open gate against a real MongoDB-wire server: a request that finds the gate closed
//! starts a trial ping, and the trial reopens the gate (no background ping runs here, and the
//! topology stays writable, so nothing else could).

use crate::support;

use std::time::Duration;

use focus_server::db::{Db, GateSource};
use testkit::wait_until;

#[test]
fn a_request_on_a_closed_gate_starts_a_trial_that_reopens_it() {
    let (_mongo, settings, rt) = support::mongo_and_runtime();
    let db = rt.block_on(Db::connect(&settings)).expect("client");
    wait_until(
        "the topology to open the gate",
        Duration::from_secs(20),
        || db.gate().is_open(),
    );
    db.gate().close(GateSource::Call, "closed by the test");
    let refused = rt.block_on(async { db.check_gate() });
    assert!(refused.is_err(), "a closed gate refuses at once");
    wait_until("a trial to reopen the gate", Duration::from_secs(5), || {
        db.gate().is_open()
    });
    assert_eq!(db.gate().snapshot().source, GateSource::Trial);
}
