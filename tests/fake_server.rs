//! Tests of the fake REST server in `tests/support/`: REST conventions, validation,
//! idempotency, every pagination kind the shipped profiles use, injected faults, the rate
//! limit and the request log. Plain `reqwest` plays the client.

mod support;

use std::{
    collections::BTreeSet,
    io::{Read, Write},
    time::{Duration, Instant},
};

use ledgerlink::connector::{
    profile::{Pagination, PaginationKind},
    registry::Profiles,
};
use reqwest::{Client, Method, RequestBuilder, Response, StatusCode};
use serde_json::{json, Value};
use support::{FakeServer, Fault, Match};

fn client() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("a reqwest client")
}

/// A request with credentials the fake accepts.
fn call(server: &FakeServer, method: Method, path: &str) -> RequestBuilder {
    client()
        .request(method, format!("{}{path}", server.url()))
        .header("Authorization", "Bearer test")
}

async fn json_of(response: Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.expect("a body");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
    };
    (status, body)
}

async fn send(request: RequestBuilder) -> (StatusCode, Value) {
    json_of(request.send().await.expect("an answer")).await
}

fn economic_customer(name: &str) -> Value {
    json!({
        "name": name,
        "currency": "DKK",
        "customerGroup": {"customerGroupNumber": 1},
        "vatZone": {"vatZoneNumber": 1},
        "paymentTerms": {"paymentTermsNumber": 1},
    })
}

#[tokio::test]
async fn create_get_list_search_update_delete() {
    let server = FakeServer::start("economic");
    let created = call(&server, Method::POST, "/customers")
        .json(&economic_customer("Acme"))
        .send()
        .await
        .expect("an answer");
    assert_eq!(created.status(), StatusCode::CREATED);
    let location = created.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(location, format!("{}/customers/1", server.url()));
    let (_, customer) = json_of(created).await;
    assert_eq!(customer["customerNumber"], 1);
    assert!(customer["lastUpdated"].is_string(), "{customer}");
    send(call(&server, Method::POST, "/customers").json(&economic_customer("Bolt"))).await;

    let (status, got) = send(call(&server, Method::GET, "/customers/1")).await;
    assert_eq!(
        (status, got["name"].clone()),
        (StatusCode::OK, json!("Acme"))
    );
    let (status, _) = send(call(&server, Method::GET, "/customers/99")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (_, list) = send(call(&server, Method::GET, "/customers")).await;
    assert_eq!(list["collection"].as_array().unwrap().len(), 2);
    let (_, found) = send(call(&server, Method::GET, "/customers?name=Bolt")).await;
    assert_eq!(found["collection"][0]["customerNumber"], 2);
    let (_, found) = send(call(&server, Method::GET, "/customers?filter=name$eq:Acme")).await;
    assert_eq!(found["collection"].as_array().unwrap().len(), 1);
    let (_, found) = send(
        call(&server, Method::GET, "/customers")
            .query(&[("filter", "name$eq:Acme$and:currency$eq:DKK")]),
    )
    .await;
    assert_eq!(found["collection"][0]["name"], "Acme");
    let (_, none) = send(call(&server, Method::GET, "/customers?name=Nobody")).await;
    assert_eq!(none["collection"], json!([]));

    let (status, updated) = send(
        call(&server, Method::PUT, "/customers/1")
            .json(&json!({"name": "Acme A/S", "customerNumber": 5})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(updated["name"], "Acme A/S");
    assert_eq!(
        updated["customerNumber"], 1,
        "the id is not changed by an update"
    );
    assert_eq!(server.records("Customer")[0]["name"], "Acme A/S");

    let (status, _) = send(call(&server, Method::DELETE, "/customers/2")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(server.records("Customer").len(), 1);
    assert_eq!(server.writes(), 4, "two creates, one update, one delete");

    // A caller-chosen number is kept; a taken one is refused.
    let mut chosen = economic_customer("Chosen");
    chosen["customerNumber"] = json!(500);
    let (_, c) = send(call(&server, Method::POST, "/customers").json(&chosen)).await;
    assert_eq!(c["customerNumber"], 500);
    let (status, err) = send(call(&server, Method::POST, "/customers").json(&chosen)).await;
    assert_eq!(
        (status, err["field"].clone()),
        (StatusCode::BAD_REQUEST, json!("customerNumber"))
    );
    // An operation the profile does not list is refused.
    let (status, _) = send(call(&server, Method::POST, "/accounts").json(&json!({}))).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn validation_names_the_field() {
    let server = FakeServer::start("economic");
    let mut missing = economic_customer("Acme");
    missing.as_object_mut().unwrap().remove("currency");
    let (status, err) = send(call(&server, Method::POST, "/customers").json(&missing)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["field"], "currency");
    assert!(err["error"].as_str().unwrap().contains("required"), "{err}");

    let mut text_money = economic_customer("Acme");
    text_money["creditLimit"] = json!("lots");
    let (status, err) = send(call(&server, Method::POST, "/customers").json(&text_money)).await;
    assert_eq!(
        (status, err["field"].clone()),
        (StatusCode::BAD_REQUEST, json!("creditLimit"))
    );

    let mut decimal_text = economic_customer("Acme");
    decimal_text["creditLimit"] = json!("1250.50");
    let (status, _) = send(call(&server, Method::POST, "/customers").json(&decimal_text)).await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "decimal strings are numbers on the wire"
    );

    let mut unknown = economic_customer("Extra");
    unknown["somethingElse"] = json!(true);
    let (status, _) = send(call(&server, Method::POST, "/customers").json(&unknown)).await;
    assert_eq!(status, StatusCode::CREATED, "unknown fields are accepted");

    // Required inside a record, and read-only numbers assigned by the system.
    let draft = json!({
        "date": "2026-01-05",
        "currency": "DKK",
        "customer": {"customerNumber": 1},
        "layout": {"layoutNumber": 19},
        "paymentTerms": {"paymentTermsNumber": 1},
        "recipient": {"vatZone": {"vatZoneNumber": 1}},
        "lines": [{"quantity": "2", "unitNetPrice": 100}],
    });
    let (status, err) = send(call(&server, Method::POST, "/invoices/drafts").json(&draft)).await;
    assert_eq!(
        (status, err["field"].clone()),
        (StatusCode::BAD_REQUEST, json!("recipient.name"))
    );
    let mut draft = draft;
    draft["recipient"]["name"] = json!("Acme");
    draft["lines"][0]["quantity"] = json!("two");
    let (status, err) = send(call(&server, Method::POST, "/invoices/drafts").json(&draft)).await;
    assert_eq!(
        (status, err["field"].clone()),
        (StatusCode::BAD_REQUEST, json!("lines[0].quantity"))
    );
    draft["lines"][0]["quantity"] = json!(2);
    draft["draftInvoiceNumber"] = json!(77);
    let (status, created) =
        send(call(&server, Method::POST, "/invoices/drafts").json(&draft)).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        created["draftInvoiceNumber"], 1,
        "read-only ids are the system's"
    );
    // CreditNote shares the path, hence the records.
    assert_eq!(server.records("CreditNote").len(), 1);
    assert_eq!(server.writes(), 3);

    // Enum values and text lengths.
    let server = FakeServer::start("tripletex");
    let (status, err) = send(
        call(&server, Method::POST, "/customer").json(&json!({"name": "A", "language": "no"})),
    )
    .await;
    assert_eq!(
        (status, err["field"].clone()),
        (StatusCode::BAD_REQUEST, json!("language"))
    );
}

#[tokio::test]
async fn system_numbers_and_versions() {
    let server = FakeServer::start("tripletex");
    let (_, first) =
        send(call(&server, Method::POST, "/customer").json(&json!({"name": "A"}))).await;
    let (_, second) = send(
        call(&server, Method::POST, "/customer")
            .json(&json!({"name": "B", "customerNumber": 10010})),
    )
    .await;
    assert_eq!(
        (first["id"].clone(), first["customerNumber"].clone()),
        (json!(1), json!(1))
    );
    assert_eq!(second["customerNumber"], 10010);
    assert_eq!(first["version"], 0);

    let (status, v1) =
        send(call(&server, Method::PUT, "/customer/1").json(&json!({"name": "A2", "version": 0})))
            .await;
    assert_eq!((status, v1["version"].clone()), (StatusCode::OK, json!(1)));
    let (status, err) =
        send(call(&server, Method::PUT, "/customer/1").json(&json!({"name": "A3", "version": 0})))
            .await;
    assert_eq!(
        (status, err["field"].clone()),
        (StatusCode::CONFLICT, json!("version"))
    );
    // An update that changes nothing is not a write.
    let writes = server.writes();
    let (status, _) =
        send(call(&server, Method::PUT, "/customer/1").json(&json!({"name": "A2"}))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(server.writes(), writes);
}

#[tokio::test]
async fn idempotency_key_replays_the_first_answer() {
    let server = FakeServer::start("economic");
    let post = |key: &str, name: &str| {
        call(&server, Method::POST, "/customers")
            .header("Idempotency-Key", key)
            .json(&economic_customer(name))
    };
    let first = post("k-1", "Acme").send().await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    assert!(first.headers().get("x-resultfromcache").is_none());
    let (_, first) = json_of(first).await;
    let again = post("k-1", "Acme").send().await.unwrap();
    assert_eq!(again.status(), StatusCode::CREATED);
    assert_eq!(again.headers()["x-resultfromcache"], "true");
    let (_, again) = json_of(again).await;
    assert_eq!(again, first);
    assert_eq!(server.records("Customer").len(), 1);
    assert_eq!(server.writes(), 1);

    let (status, _) = send(post("k-1", "Something else")).await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a key reused for another body"
    );
    let (_, other) = send(post("k-2", "Acme")).await;
    assert_eq!(other["customerNumber"], 2);
    assert_eq!(server.records("Customer").len(), 2);
}

/// Follows e-conomic's `skippages` pages through `pagination.nextPage` links.
#[tokio::test]
async fn economic_pages_by_skippages_with_next_links() {
    let server = FakeServer::start("economic");
    server.seed(
        "Customer",
        (0..120)
            .map(|i| economic_customer(&format!("C{i}")))
            .collect(),
    );
    assert_eq!(server.records("Customer")[119]["customerNumber"], 120);

    let mut url = format!("{}/customers?skippages=0&pagesize=50", server.url());
    let mut numbers = Vec::new();
    let mut pages = 0;
    loop {
        let (status, page) = send(client().get(&url).header("X-AgreementGrantToken", "t")).await;
        assert_eq!(status, StatusCode::OK);
        pages += 1;
        let items = page["collection"].as_array().unwrap();
        numbers.extend(items.iter().map(|c| c["customerNumber"].as_i64().unwrap()));
        assert_eq!(page["pagination"]["results"], 120);
        match page["pagination"]["nextPage"].as_str() {
            Some(next) => url = next.to_string(),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(numbers, (1..=120).collect::<Vec<_>>());

    // Page numbers count from 0; the default size is 50; above max_size is refused.
    let (_, last) = send(call(&server, Method::GET, "/customers?skippages=2")).await;
    assert_eq!(last["collection"].as_array().unwrap().len(), 20);
    assert!(last["pagination"].get("nextPage").is_none());
    let (status, _) = send(call(&server, Method::GET, "/customers?pagesize=1001")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (_, all) = send(call(&server, Method::GET, "/customers?pagesize=1000")).await;
    assert_eq!(all["collection"].as_array().unwrap().len(), 120);
}

/// Tripletex pages by `from`/`count` with the records under `/values`.
#[tokio::test]
async fn tripletex_offsets_under_values() {
    let server = FakeServer::start("tripletex");
    server.seed(
        "Customer",
        (0..120).map(|i| json!({"name": format!("C{i}")})).collect(),
    );
    let mut from = 0;
    let mut ids = Vec::new();
    loop {
        let (_, page) =
            send(call(&server, Method::GET, "/customer").query(&[("from", from), ("count", 50)]))
                .await;
        assert_eq!(page["fullResultSize"], 120);
        assert_eq!(page["from"], from);
        let values = page["values"].as_array().unwrap();
        assert_eq!(page["count"], values.len());
        ids.extend(values.iter().map(|c| c["id"].as_i64().unwrap()));
        from += values.len();
        if values.len() < 50 {
            break;
        }
    }
    assert_eq!(ids, (1..=120).collect::<Vec<_>>());
    // The base URL's own path (`/v2`) may be kept.
    let (status, one) = send(call(&server, Method::GET, "/v2/customer/7")).await;
    assert_eq!((status, one["name"].clone()), (StatusCode::OK, json!("C6")));
}

/// Shopify pages by `Link` headers; `page_info` carries the filters and allows nothing else.
#[tokio::test]
async fn shopify_link_headers() {
    let server = FakeServer::start("shopify");
    server.seed(
        "Order",
        (0..120)
            .map(|i| {
                let day = if i < 100 { "2026-02-01" } else { "2025-12-01" };
                json!({"name": format!("#{}", 1001 + i), "updated_at": format!("{day}T10:00:00Z")})
            })
            .collect(),
    );
    let mut url = format!(
        "{}/orders.json?limit=40&status=any&updated_at_min=2026-01-01T00:00:00Z",
        server.url()
    );
    let mut names = Vec::new();
    let mut pages = 0;
    loop {
        let response = client()
            .get(&url)
            .header("X-Shopify-Access-Token", "t")
            .send()
            .await
            .unwrap();
        let link = response
            .headers()
            .get("link")
            .map(|l| l.to_str().unwrap().to_string());
        let (status, page) = json_of(response).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        pages += 1;
        names.extend(
            page["orders"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o["name"].as_str().unwrap().to_string()),
        );
        if pages > 1 {
            assert!(link.as_deref().unwrap().contains("rel=\"previous\""));
        }
        let next = link.as_deref().and_then(|l| {
            l.split(", ")
                .find(|part| part.ends_with("rel=\"next\""))
                .map(|part| part[1..part.find('>').unwrap()].to_string())
        });
        match next {
            Some(next) => {
                assert!(
                    next.contains("page_info=") && !next.contains("status="),
                    "{next}"
                );
                url = next;
            }
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(names.len(), 100, "the filter holds across pages");
    assert_eq!(names[0], "#1001");

    let (_, first) = send(call(&server, Method::GET, "/orders.json?limit=10")).await;
    assert_eq!(first["orders"].as_array().unwrap().len(), 10);
    // `/orders/{id}.json` and `/orders.json/{id}` both reach a record.
    let (_, one) = send(call(&server, Method::GET, "/orders/3.json")).await;
    assert_eq!(one["name"], "#1003");
    let (_, same) = send(call(&server, Method::GET, "/orders.json/3")).await;
    assert_eq!(one, same);
    // Shopify refuses other parameters next to page_info.
    let response = call(&server, Method::GET, "/orders.json?limit=10")
        .send()
        .await
        .unwrap();
    let link = response.headers()["link"].to_str().unwrap().to_string();
    let next = &link[1..link.find('>').unwrap()];
    let (status, _) = send(
        client()
            .get(format!("{next}&status=any"))
            .header("Authorization", "t"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn cursor_pages_and_page_numbers() {
    let mut diagnostics = Vec::new();
    let mut profile = (**Profiles::shipped(&mut diagnostics).get("fiken").unwrap()).clone();
    profile.pagination = Some(Pagination {
        kind: PaginationKind::Cursor,
        param: Some("after".into()),
        size_param: None,
        max_size: None,
        items: Some("/data".into()),
        next: Some("/meta/next".into()),
    });
    let server = FakeServer::from_profile(profile);
    server.set_page_size(3);
    server.seed(
        "Product",
        (0..7).map(|i| json!({"name": format!("P{i}")})).collect(),
    );
    let mut query: Vec<(String, String)> = Vec::new();
    let mut sizes = Vec::new();
    let mut seen = BTreeSet::new();
    loop {
        let (_, page) = send(call(&server, Method::GET, "/products").query(&query)).await;
        let data = page["data"].as_array().unwrap();
        sizes.push(data.len());
        seen.extend(data.iter().map(|p| p["productId"].as_i64().unwrap()));
        match page["meta"]["next"].as_str() {
            Some(cursor) => query = vec![("after".into(), cursor.into())],
            None => break,
        }
    }
    assert_eq!((sizes, seen.len()), (vec![3, 3, 1], 7));
    let (status, _) = send(call(&server, Method::GET, "/products?after=nonsense")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Page numbers start at 1 unless the profile says otherwise; page 0 is refused.
    let server = FakeServer::start("woocommerce");
    server.seed(
        "Product",
        (0..5).map(|i| json!({"name": format!("P{i}")})).collect(),
    );
    let (_, page) = send(call(&server, Method::GET, "/products?page=1&per_page=2")).await;
    assert_eq!(page[0]["id"], 1, "a bare array when `items` is empty");
    let (_, page) = send(call(&server, Method::GET, "/products?page=3&per_page=2")).await;
    assert_eq!(page.as_array().unwrap().len(), 1);
    let (status, _) = send(call(&server, Method::GET, "/products?page=0")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    server.set_first_page(0);
    let (_, page) = send(call(&server, Method::GET, "/products?page=0&per_page=2")).await;
    assert_eq!(page[0]["id"], 1);

    // Records under a parent path are kept per parent.
    for order in [5, 5, 6] {
        let (status, _) = send(
            call(&server, Method::POST, &format!("/orders/{order}/refunds"))
                .json(&json!({"amount": "10.00"})),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let (_, refunds) = send(call(&server, Method::GET, "/orders/5/refunds")).await;
    assert_eq!(refunds.as_array().unwrap().len(), 2);
    let (status, _) = send(call(&server, Method::GET, "/orders/6/refunds/1")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "refund 1 belongs to order 5");
}

#[tokio::test]
async fn changed_since_filters() {
    let server = FakeServer::start("economic");
    let mut old = economic_customer("Old");
    old["lastUpdated"] = json!("2025-06-01T00:00:00Z");
    server.seed("Customer", vec![old, economic_customer("New")]);
    let (_, page) = send(
        call(&server, Method::GET, "/customers")
            .query(&[("filter", "lastUpdated$gte:2026-01-01T00:00:00Z")]),
    )
    .await;
    let names: Vec<_> = page["collection"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].clone())
        .collect();
    assert_eq!(names, vec![json!("New")]);

    // A record edited in the system shows up again.
    let before = chrono::Utc::now().to_rfc3339();
    tokio::time::sleep(Duration::from_millis(5)).await;
    assert!(server.modify("Customer", 1, json!({"name": "Old, renamed"})));
    let (_, page) = send(
        call(&server, Method::GET, "/customers")
            .query(&[("filter", format!("lastUpdated$gte:{before}"))]),
    )
    .await;
    assert_eq!(page["collection"][0]["name"], "Old, renamed");
    assert_eq!(
        server.writes(),
        0,
        "seeds and edits in the system are not writes"
    );

    // A plain parameter (Tripletex `changedSince`) uses the server's own change time.
    let server = FakeServer::start("tripletex");
    server.seed("Customer", vec![json!({"name": "A"})]);
    let (_, page) = send(call(
        &server,
        Method::GET,
        "/customer?changedSince=2000-01-01",
    ))
    .await;
    assert_eq!(page["values"].as_array().unwrap().len(), 1);
    let (_, page) = send(call(
        &server,
        Method::GET,
        "/customer?changedSince=2999-01-01",
    ))
    .await;
    assert_eq!(page["values"].as_array().unwrap().len(), 0);
    let (status, _) = send(call(
        &server,
        Method::GET,
        "/customer?changedSince=yesterday",
    ))
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn auth_is_checked_loosely() {
    let server = FakeServer::start("economic");
    let (status, _) = send(client().get(format!("{}/customers", server.url()))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = send(
        client()
            .get(format!("{}/customers", server.url()))
            .header("X-AgreementGrantToken", "grant"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    // Session-token profiles get a login endpoint at token_url, with or without the base path.
    let server = FakeServer::start("tripletex");
    for path in ["/token/session/:create", "/v2/token/session/:create"] {
        let (status, body) = send(client().put(format!("{}{path}", server.url()))).await;
        assert_eq!(
            (status, body["value"]["token"].is_string()),
            (StatusCode::OK, true)
        );
    }
    // Profiles without auth need nothing; unknown paths are 404.
    let (status, _) = send(call(&server, Method::GET, "/nothing/here")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn status_fault_with_retry_after() {
    let server = FakeServer::start("economic");
    server.inject(Fault::Status {
        status: 429,
        times: 1,
        retry_after: Some(2),
        on: Match::on("POST", "Customer"),
    });
    server.inject(Fault::Status {
        status: 503,
        times: 1,
        retry_after: None,
        on: Match::method_is("GET"),
    });
    let (status, _) = send(call(&server, Method::GET, "/customers")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let response = call(&server, Method::POST, "/customers")
        .json(&economic_customer("A"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers()["retry-after"], "2");
    let (_, body) = json_of(response).await;
    assert!(body["error"].is_string());
    assert!(server.records("Customer").is_empty());
    let (status, _) =
        send(call(&server, Method::POST, "/customers").json(&economic_customer("A"))).await;
    assert_eq!(status, StatusCode::CREATED, "the fault is used up");
    let faults: Vec<_> = server
        .requests()
        .iter()
        .map(|r| (r.status, r.fault))
        .collect();
    assert_eq!(
        faults,
        vec![(503, Some("status")), (429, Some("status")), (201, None)]
    );
}

#[tokio::test]
async fn commit_then_drop_applies_the_write() {
    let server = FakeServer::start("economic");
    server.inject(Fault::CommitThenDrop {
        times: 1,
        on: Match::on("POST", "Customer"),
    });
    let post = || {
        call(&server, Method::POST, "/customers")
            .header("Idempotency-Key", "once")
            .json(&economic_customer("Acme"))
    };
    let err = post().send().await.expect_err("the answer is dropped");
    assert!(!err.is_status(), "{err}");
    assert_eq!(server.records("Customer").len(), 1, "but the record exists");
    assert_eq!(server.writes(), 1);
    let log = server.requests();
    assert_eq!((log[0].status, log[0].dropped), (201, true));
    assert_eq!(log[0].fault, Some("commit_then_drop"));

    // A retry with the same key gets the first answer.
    let (status, body) = send(post()).await;
    assert_eq!(
        (status, body["customerNumber"].clone()),
        (StatusCode::CREATED, json!(1))
    );
    assert_eq!(server.records("Customer").len(), 1);
}

#[tokio::test]
async fn commit_then_drop_every_nth() {
    let server = FakeServer::start("tripletex");
    server.inject(Fault::CommitThenDropEvery {
        nth: 3,
        on: Match::on("POST", "Customer"),
    });
    let mut dropped = 0;
    for i in 0..7 {
        let sent = call(&server, Method::POST, "/customer")
            .json(&json!({"name": format!("C{i}")}))
            .send()
            .await;
        if sent.is_err() {
            dropped += 1;
        }
    }
    let (status, _) = send(call(&server, Method::GET, "/customer")).await;
    assert_eq!(status, StatusCode::OK, "reads are not matched");
    assert_eq!(dropped, 2);
    assert_eq!(server.records("Customer").len(), 7);
    assert_eq!(server.writes(), 7);
}

#[tokio::test]
async fn reset_and_malformed_change_nothing() {
    let server = FakeServer::start("economic");
    server.inject(Fault::Reset {
        times: 1,
        on: Match::method_is("POST"),
    });
    server.inject(Fault::Malformed {
        times: 1,
        on: Match::entity_is("Customer"),
    });
    let err = call(&server, Method::POST, "/customers")
        .json(&economic_customer("A"))
        .send()
        .await
        .expect_err("the connection is reset");
    assert!(!err.is_status(), "{err}");
    assert!(server.records("Customer").is_empty());

    let response = call(&server, Method::GET, "/customers")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.json::<Value>().await.is_err(),
        "the body is not JSON"
    );

    let log = server.requests();
    assert_eq!(
        log.iter()
            .map(|r| (r.status, r.dropped, r.fault))
            .collect::<Vec<_>>(),
        vec![(0, true, Some("reset")), (200, false, Some("malformed"))]
    );
    assert_eq!(server.writes(), 0);
}

#[tokio::test]
async fn delay_slows_the_answer_but_still_writes() {
    let server = FakeServer::start("economic");
    server.inject(Fault::Delay {
        millis: 300,
        times: 1,
        on: Match::any(),
    });
    let started = Instant::now();
    let (status, _) = send(call(&server, Method::GET, "/customers")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(300));

    // A client that gives up early does not stop the write.
    server.inject(Fault::Delay {
        millis: 300,
        times: 1,
        on: Match::method_is("POST"),
    });
    let err = call(&server, Method::POST, "/customers")
        .timeout(Duration::from_millis(50))
        .json(&economic_customer("Slow"))
        .send()
        .await
        .expect_err("times out");
    assert!(err.is_timeout(), "{err}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(server.records("Customer").len(), 1);
}

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after() {
    let server = FakeServer::start("tripletex");
    server.set_rate_limit(5);
    let mut statuses = Vec::new();
    for _ in 0..8 {
        let response = call(&server, Method::GET, "/customer")
            .send()
            .await
            .unwrap();
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(response.headers()["retry-after"], "1");
        }
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses, vec![200, 200, 200, 200, 200, 429, 429, 429]);
    tokio::time::sleep(Duration::from_millis(1050)).await;
    let (status, _) = send(call(&server, Method::GET, "/customer")).await;
    assert_eq!(status, StatusCode::OK);
    server.set_rate_limit(0);
    for _ in 0..10 {
        let (status, _) = send(call(&server, Method::GET, "/customer")).await;
        assert_eq!(status, StatusCode::OK);
    }
}

#[tokio::test]
async fn request_log_and_write_counter() {
    let server = FakeServer::start("economic");
    send(call(&server, Method::GET, "/customers?name=A%20B")).await;
    send(
        call(&server, Method::POST, "/customers")
            .header("Idempotency-Key", "k")
            .json(&economic_customer("A B")),
    )
    .await;
    send(call(&server, Method::POST, "/customers").json(&json!({"name": "no currency"}))).await;
    let log = server.requests();
    assert_eq!(log.len(), 3);
    assert_eq!(
        (log[0].method.as_str(), log[0].path.as_str()),
        ("GET", "/customers")
    );
    assert_eq!(log[0].query, "name=A%20B");
    assert_eq!(log[0].query_param("name").as_deref(), Some("A B"));
    assert_eq!(log[0].entity.as_deref(), Some("Customer"));
    assert!(!log[0].is_write() && log[1].is_write());
    assert_eq!(log[1].body["name"], "A B");
    assert_eq!(log[1].header("idempotency-key"), Some("k"));
    assert_eq!(log[1].status, 201);
    assert_eq!(log[2].status, 400);
    assert!(log[0].at <= log[1].at);
    assert_eq!(server.writes(), 1, "the refused create is not a write");
    server.clear_log();
    assert!(server.requests().is_empty());
    assert_eq!(server.writes(), 1);
}

/// The fake works from a plain `#[test]` (no runtime of the caller's) and stops on drop.
#[test]
fn runs_from_a_sync_test_and_stops_on_drop() {
    let server = FakeServer::start("tripletex");
    server.seed("Customer", vec![json!({"name": "Sync"})]);
    let addr = server.url().trim_start_matches("http://").to_string();
    let mut stream = std::net::TcpStream::connect(&addr).unwrap();
    write!(
        stream,
        "GET /customer/1 HTTP/1.1\r\nHost: {addr}\r\nAuthorization: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"name\":\"Sync\""), "{answer}");
    drop(server);
    assert!(std::net::TcpStream::connect(&addr).is_err(), "stopped");
}

#[tokio::test]
async fn odata_filters_date_windows_and_parent_paths() {
    // SuperOffice: OData `$filter` (with its `after` operator), records under `/value`, and
    // the base URL's path (`/api/v1`) accepted in front.
    let server = FakeServer::start("superoffice");
    server.seed(
        "Contact",
        vec![
            json!({"Name": "Smith and Sons", "UpdatedDate": "2025-05-01T00:00:00Z"}),
            json!({"Name": "O'Neil", "UpdatedDate": "2026-02-01T00:00:00Z"}),
        ],
    );
    let (_, page) = send(
        call(&server, Method::GET, "/api/v1/Contact")
            .query(&[("$filter", "updatedDate after '2026-01-01T00:00:00Z'")]),
    )
    .await;
    assert_eq!(page["value"].as_array().unwrap().len(), 1);
    assert_eq!(page["value"][0]["Name"], "O'Neil");
    for (filter, id) in [
        ("Name eq 'Smith and Sons'", 1),
        ("Name eq 'O''Neil' and ContactId ge 2", 2),
    ] {
        let (_, page) =
            send(call(&server, Method::GET, "/Contact").query(&[("$filter", filter)])).await;
        assert_eq!(page["value"].as_array().unwrap().len(), 1, "{filter}");
        assert_eq!(page["value"][0]["ContactId"], id, "{filter}");
    }

    // Uni Micro: OData in a plain `filter` parameter; the records are a bare array.
    let server = FakeServer::start("unimicro");
    server.seed(
        "Customer",
        vec![json!({"OrgNumber": "123"}), json!({"OrgNumber": "456"})],
    );
    let (_, found) = send(call(
        &server,
        Method::GET,
        "/biz/customers?filter=OrgNumber eq '456'",
    ))
    .await;
    assert_eq!(found.as_array().unwrap().len(), 1);
    assert_eq!(
        found[0]["CustomerNumber"], 2,
        "read-only numbers are assigned on seed too"
    );

    // webCRM: changed since is a path with the window.
    let server = FakeServer::start("webcrm");
    server.seed(
        "Organisation",
        vec![
            json!({"OrganisationName": "Old", "OrganisationUpdatedAt": "2025-01-01T00:00:00Z"}),
            json!({"OrganisationName": "New", "OrganisationUpdatedAt": "2026-03-01T00:00:00Z"}),
        ],
    );
    let (status, page) = send(call(
        &server,
        Method::GET,
        "/Organisations/FindByUpdateDates/2026-01-01T00%3A00%3A00Z/2026-12-31T00%3A00%3A00Z",
    ))
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page.as_array().unwrap().len(), 1);
    assert_eq!(page[0]["OrganisationName"], "New");

    // e-conomic journal vouchers live under their journal's path.
    let server = FakeServer::start("economic");
    let voucher = json!({"accountingYear": {"year": "2026"}, "financeVouchers": [
        {"date": "2026-01-05", "amount": "100.00", "account": {"accountNumber": 5820}}
    ]});
    let (status, created) =
        send(call(&server, Method::POST, "/journals/7/vouchers").json(&voucher)).await;
    assert_eq!(
        (status, created["voucherNumber"].clone()),
        (StatusCode::CREATED, json!(1))
    );
    assert!(
        created.get("journal").is_none(),
        "a record-typed field is not filled from the path"
    );
    let (_, seven) = send(call(&server, Method::GET, "/journals/7/vouchers")).await;
    let (_, eight) = send(call(&server, Method::GET, "/journals/8/vouchers")).await;
    assert_eq!(seven["collection"].as_array().unwrap().len(), 1);
    assert_eq!(eight["collection"].as_array().unwrap().len(), 0);
}
