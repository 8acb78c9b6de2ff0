//! The pending-writes writer against a real MongoDB-wire server: a record that can never be
//! stored (injected below validation, through the writer's own API) is dead-lettered, and the
//! good records around it land.

use crate::support;

use std::time::Duration;

use focus_server::db::Db;
use focus_server::db::records::{JobRecord, PendingWrite, PendingWrites};
use mongodb::bson::{Document, doc};
use support::{DATABASE, find_docs};
use testkit::wait_until;

fn record(id: &str, request: Document) -> JobRecord {
    JobRecord {
        record_id: format!("poison-test-{id}"),
        job_id: id.to_owned(),
        task_id: "poison-test".to_owned(),
        view_type: "0".to_owned(),
        state: "running".to_owned(),
        kind: "live".to_owned(),
        created_at: "2026-01-01T00:00:00Z".to_owned(),
        window: None,
        request,
    }
}

#[test]
fn a_poison_record_is_dead_lettered_and_the_good_ones_land() {
    let (mongo, settings, rt) = support::mongo_and_runtime();
    let (pending, stop) = rt.block_on(async {
        let db = Db::connect(&settings).await.expect("client");
        let (stop, stop_rx) = tokio::sync::watch::channel(false);
        db.spawn_ping(stop_rx.clone());
        let pending = PendingWrites::new(100);
        pending.spawn_writer(db, stop_rx);
        (pending, stop)
    });
    pending.push(PendingWrite::upsert(record("good-1", doc! {"a": 1})));
    pending.push(PendingWrite::upsert(record("poison", doc! {"\u{0}": 1})));
    pending.push(PendingWrite::upsert(record(
        "good-2",
        doc! {"b": "x\u{0}y"},
    )));
    wait_until("the queue to drain", Duration::from_secs(20), || {
        pending.is_empty()
    });
    assert_eq!((pending.written(), pending.dead_lettered()), (2, 1));
    let dead = pending.dead_letters();
    assert_eq!(dead[0].write.record_id(), "poison-test-poison");
    assert!(
        dead[0].reason.contains("cannot be stored"),
        "{}",
        dead[0].reason
    );
    let stored: Vec<String> = find_docs(
        &mongo.uri(),
        DATABASE,
        focus_server::db::records::COLLECTION,
        doc! {"task_id": "poison-test"},
    )
    .iter()
    .map(|d| d.get_str("job_id").unwrap().to_owned())
    .collect();
    assert_eq!(stored.len(), 2, "{stored:?}");
    assert!(stored.contains(&"good-1".to_owned()) && stored.contains(&"good-2".to_owned()));
    let _ = stop.send(true);
}
