//! The half-open gate against a real MongoDB-wire server: a request that finds the gate closed
//! starts a trial (a fresh client's check and ping), and the trial's client takes over and
//! reopens the gate; a trial while MongoDB is down changes nothing.

use crate::support;

use std::time::Duration;

use focus_server::db::{Db, GateSource};
use testkit::wait_until;

#[test]
fn a_request_on_a_closed_gate_starts_a_trial_whose_client_takes_over() {
    let (_mongo, settings, rt) = support::mongo_and_runtime();
    let db = rt.block_on(Db::connect(&settings)).expect("client");
    wait_until(
        "the topology to open the gate",
        Duration::from_secs(20),
        || db.gate().is_open(),
    );
    assert_eq!(db.client_generation(), 0);
    db.gate().close(GateSource::Call, "closed by the test");
    let refused = rt.block_on(async { db.check_gate() });
    assert!(refused.is_err(), "a closed gate refuses at once");
    wait_until("a trial to reopen the gate", Duration::from_secs(5), || {
        db.gate().is_open()
    });
    assert_eq!(db.gate().snapshot().source, GateSource::Trial);
    assert!(
        db.client_generation() > 0,
        "the trial's fresh client is the current one"
    );
    rt.block_on(db.ping()).expect("the new client answers");
}

#[test]
fn trials_while_mongodb_is_down_keep_the_client_and_one_reopens_the_gate_after() {
    let (mut mongo, settings, rt) = support::mongo_and_runtime();
    let db = rt.block_on(Db::connect(&settings)).expect("client");
    wait_until(
        "the topology to open the gate",
        Duration::from_secs(20),
        || db.gate().is_open(),
    );
    mongo.stop();
    db.gate().close(GateSource::Call, "closed by the test");
    let demand = || {
        rt.block_on(async {
            let _ = db.check_gate();
        })
    };
    // Demand for longer than a few trials: none of them can take over.
    let until = std::time::Instant::now() + Duration::from_millis(800);
    while std::time::Instant::now() < until {
        demand();
        assert!(
            !db.gate().is_open(),
            "a trial reopened the gate while MongoDB was down"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        db.client_generation(),
        0,
        "a failed trial replaced the client"
    );
    mongo.resume_after_stop();
    wait_until(
        "the gate to reopen under demand",
        Duration::from_secs(10),
        || {
            demand();
            db.gate().is_open()
        },
    );
    rt.block_on(db.ping()).expect("the current client answers");
}
