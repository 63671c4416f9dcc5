//! Tests of the fake REST server in `tests/support/`.

mod support;

use support::FakeServer;

#[test]
fn starts() {
    let server = FakeServer::start("economic");
    assert!(server.url().starts_with("http://127.0.0.1:"));
}
