//! `Client::list_pages`: lists read a page at a time. A REST list asks for the next page only
//! when it is wanted, NDJSON files are read 1 000 lines at a time, and `list` still collects
//! every page.

use std::{
    io::Write,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
};

use axum::{extract::Query, routing::get, Router};
use ledgerlink::{
    connector::{client::Client, registry::Profiles, Profile},
    project::SystemConfig,
};
use serde_json::{json, Value};

fn profile(yaml: &str) -> Arc<Profile> {
    Arc::new(serde_yaml_ng::from_str(yaml).expect("test profile"))
}

fn system(yaml: &str) -> SystemConfig {
    serde_yaml_ng::from_str(yaml).expect("test system config")
}

const REST: &str = r#"
name: pagedrest
title: Paged REST
transport: rest_json
base_url: "{url}"
auth: {kind: none}
pagination: {kind: page, param: page, size_param: pageSize, max_size: 2, items: ""}
entities:
  Contact:
    path: /contacts
    id: contactId
    operations: [list]
    fields:
      contactId: {type: integer, read_only: true}
"#;

/// A server of `total` contacts in pages; counts the list requests it answered.
async fn contacts_server(total: usize) -> (String, Arc<AtomicUsize>) {
    let requests = Arc::new(AtomicUsize::new(0));
    let counter = requests.clone();
    let router = Router::new().route(
        "/contacts",
        get(
            move |Query(q): Query<std::collections::HashMap<String, String>>| async move {
                counter.fetch_add(1, Ordering::SeqCst);
                let page: usize = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
                let size: usize = q.get("pageSize").and_then(|p| p.parse().ok()).unwrap_or(2);
                let items: Vec<Value> = (1..=total)
                    .skip((page - 1) * size)
                    .take(size)
                    .map(|i| json!({"contactId": i}))
                    .collect();
                axum::Json(Value::Array(items))
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    (base, requests)
}

fn ids(page: &[Value], key: &str) -> Vec<i64> {
    page.iter().filter_map(|r| r[key].as_i64()).collect()
}

#[tokio::test]
async fn rest_pages_are_fetched_one_request_at_a_time() {
    let (base, requests) = contacts_server(5).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = system(&format!(
        "connector: pagedrest\noptions: {{url: \"{base}\"}}"
    ));
    let client = Client::new("crm", profile(REST), &config, dir.path(), None).expect("client");

    let mut pages = client.list_pages("Contact", None).await.expect("pager");
    assert_eq!(
        requests.load(Ordering::SeqCst),
        0,
        "nothing is read up front"
    );
    let first = pages.next_page().await.expect("page 1").expect("a page");
    assert_eq!(ids(&first, "contactId"), [1, 2]);
    assert_eq!(requests.load(Ordering::SeqCst), 1, "one request per page");
    let second = pages.next_page().await.expect("page 2").expect("a page");
    assert_eq!(ids(&second, "contactId"), [3, 4]);
    let third = pages.next_page().await.expect("page 3").expect("a page");
    assert_eq!(ids(&third, "contactId"), [5]);
    // The short page ended the list: no request for a fourth.
    assert!(pages.next_page().await.expect("end").is_none());
    assert!(pages.next_page().await.expect("still the end").is_none());
    assert_eq!(requests.load(Ordering::SeqCst), 3);

    // `list` collects the same pages.
    let all = client.list("Contact", None).await.expect("list");
    assert_eq!(ids(&all, "contactId"), [1, 2, 3, 4, 5]);
}

#[tokio::test]
async fn an_empty_list_has_no_pages() {
    let (base, requests) = contacts_server(0).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = system(&format!(
        "connector: pagedrest\noptions: {{url: \"{base}\"}}"
    ));
    let client = Client::new("crm", profile(REST), &config, dir.path(), None).expect("client");
    let mut pages = client.list_pages("Contact", None).await.expect("pager");
    assert!(pages.next_page().await.expect("end").is_none());
    assert_eq!(requests.load(Ordering::SeqCst), 1);
}

fn file_client(dir: &std::path::Path, path: &str) -> Client {
    let mut diagnostics = Vec::new();
    let profiles = Profiles::shipped(&mut diagnostics);
    let file = profiles.get("file").expect("shipped file profile").clone();
    let config = system(&format!("connector: file\noptions: {{path: \"{path}\"}}"));
    Client::new("src", file, &config, dir, None).expect("client")
}

#[tokio::test]
async fn ndjson_files_are_read_a_page_of_lines_at_a_time() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut file = std::fs::File::create(dir.path().join("a.ndjson")).expect("file");
    for i in 0..2_500 {
        writeln!(file, r#"{{"id": {i}}}"#).expect("line");
        if i == 1_200 {
            writeln!(file, "   ").expect("a blank line");
        }
    }
    drop(file);
    std::fs::write(dir.path().join("b.ndjson"), "{\"id\": 9000}\r\n").expect("file");
    let client = file_client(dir.path(), "*.ndjson");

    let mut sizes = Vec::new();
    let mut all = Vec::new();
    let mut pages = client.list_pages("Record", None).await.expect("pager");
    while let Some(page) = pages.next_page().await.expect("page") {
        sizes.push(page.len());
        all.extend(ids(&page, "id"));
    }
    // Pages never span files.
    assert_eq!(sizes, [1_000, 1_000, 500, 1]);
    let mut expected: Vec<i64> = (0..2_500).collect();
    expected.push(9000);
    assert_eq!(all, expected);
    assert_eq!(
        client.list("Record", None).await.expect("list").len(),
        2_501
    );
}

#[tokio::test]
async fn a_bad_ndjson_line_is_named_by_its_number() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut text = String::new();
    for i in 0..1_500 {
        text.push_str(&format!("{{\"id\": {i}}}\n"));
    }
    text.push_str("{\"id\": \n");
    std::fs::write(dir.path().join("a.ndjson"), text).expect("file");
    let client = file_client(dir.path(), "a.ndjson");
    let mut pages = client.list_pages("Record", None).await.expect("pager");
    // The first page is read before the bad line is reached.
    assert_eq!(
        pages.next_page().await.expect("page 1").map(|p| p.len()),
        Some(1_000)
    );
    let err = pages.next_page().await.expect_err("line 1501 is not JSON");
    assert!(err.message.contains("line 1501"), "{}", err.message);
}

#[tokio::test]
async fn json_and_csv_files_are_handed_out_in_pages() {
    let dir = tempfile::tempdir().expect("tempdir");
    let records: Vec<Value> = (0..1_200).map(|i| json!({"id": i})).collect();
    std::fs::write(
        dir.path().join("a.json"),
        serde_json::to_string(&records).expect("json"),
    )
    .expect("file");
    let client = file_client(dir.path(), "a.json");
    let mut pages = client.list_pages("Record", None).await.expect("pager");
    let mut sizes = Vec::new();
    while let Some(page) = pages.next_page().await.expect("page") {
        sizes.push(page.len());
    }
    assert_eq!(sizes, [1_000, 200]);

    std::fs::write(dir.path().join("b.csv"), "id,name\n1,a\n2,b\n").expect("file");
    let client = file_client(dir.path(), "b.csv");
    let mut pages = client.list_pages("Record", None).await.expect("pager");
    let page = pages.next_page().await.expect("page").expect("a page");
    assert_eq!(
        page,
        [
            json!({"id": "1", "name": "a"}),
            json!({"id": "2", "name": "b"})
        ]
    );
    assert!(pages.next_page().await.expect("end").is_none());
}
