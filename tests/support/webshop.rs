//! The webshop-economic example against fake Shopify and e-conomic servers seeded from its
//! fixtures: the set-up several end-to-end tests share.

use std::{path::Path, process::Command};

use serde_json::Value;

use super::{ledgerlink_bin, temp_project, FakeServer};

/// The records of `fixtures/<system>/<entity>.json` of a project.
pub fn fixtures(project: &Path, system: &str, entity: &str) -> Vec<Value> {
    let path = project
        .join("fixtures")
        .join(system)
        .join(format!("{entity}.json"));
    serde_json::from_str(
        &std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .expect("fixture JSON")
}

/// A copy of the example and fake Shopify and e-conomic servers seeded from its fixtures.
pub fn seeded() -> (tempfile::TempDir, FakeServer, FakeServer) {
    let project = temp_project("webshop-economic");
    let shop = FakeServer::start("shopify");
    let acc = FakeServer::start("economic");
    for entity in [
        "Order",
        "Customer",
        "Product",
        "ProductVariant",
        "InventoryLevel",
    ] {
        shop.seed(entity, fixtures(project.path(), "shop", entity));
    }
    for entity in [
        "Customer",
        "Product",
        "Account",
        "Layout",
        "PaymentTerms",
        "ProductGroup",
        "VatZone",
        "CustomerGroup",
        "BookedInvoice",
    ] {
        acc.seed(entity, fixtures(project.path(), "acc", entity));
    }
    (project, shop, acc)
}

/// The `ledgerlink` binary pointed at the fakes, with test credentials and no colour.
pub fn command(shop: &FakeServer, acc: &FakeServer) -> Command {
    let mut command = Command::new(ledgerlink_bin());
    command
        .env("NO_COLOR", "1")
        .env("LEDGERLINK_ENDPOINT_SHOP", shop.url())
        .env("LEDGERLINK_ENDPOINT_ACC", acc.url())
        .env("SHOPIFY_ACCESS_TOKEN", "shpat_test_token")
        .env("ECONOMIC_APP_SECRET_TOKEN", "test-app-secret")
        .env("ECONOMIC_AGREEMENT_GRANT_TOKEN", "test-grant");
    command
}

/// [`seeded`], with the Shopify fake also holding the example's subscription contracts and
/// their billing attempts (entities Shopify serves over GraphQL only).
pub fn seeded_with_subscriptions() -> (tempfile::TempDir, FakeServer, FakeServer) {
    let (project, shop, acc) = seeded();
    for entity in ["SubscriptionContract", "SubscriptionBillingAttempt"] {
        shop.seed(entity, fixtures(project.path(), "shop", entity));
    }
    (project, shop, acc)
}
