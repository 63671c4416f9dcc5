//! Connector profiles: the YAML description of one system (transport, auth, paging,
//! webhooks, rate limits, entities and their typed fields). A profile is written once per
//! system and shipped under `rules/connectors/`; the checker resolves rule files against
//! it and the runtime drives the system's API from it.
//!
//! Unknown keys are refused (`deny_unknown_fields`) so a typo in a profile is an error, not a
//! silently ignored setting.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

/// An entity's (or a nested record's) fields by name, in the profile's order. Every document
/// of a run is checked against these, field by field, so they hash with foldhash (seeded per
/// process, so record keys cannot be chosen to collide) rather than the slower default.
pub type Fields = IndexMap<String, Field, foldhash::fast::RandomState>;

/// A whole connector profile.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// The connector name used in `ledgerlink.yaml` (`connector: tripletex`).
    pub name: String,
    /// A human title.
    pub title: String,
    /// Free text: what the system is, links to its API docs.
    #[serde(default)]
    pub doc: String,
    /// How the API is reached.
    pub transport: Transport,
    /// Base URL template; `{option}` placeholders are filled from the system's options.
    #[serde(default)]
    pub base_url: Option<String>,
    /// The published spec the profile was checked against, if any.
    #[serde(default)]
    pub spec: Option<SpecSource>,
    /// Options a project sets per system (`company`, `shop`, `path`, …).
    #[serde(default)]
    pub options: IndexMap<String, OptionSpec>,
    /// Authentication.
    #[serde(default)]
    pub auth: Auth,
    /// Default pagination for list operations.
    #[serde(default)]
    pub pagination: Option<Pagination>,
    /// Client-side rate limit.
    #[serde(default)]
    pub rate_limit: Option<RateLimit>,
    /// Incoming webhooks.
    #[serde(default)]
    pub webhooks: Option<Webhooks>,
    /// The GraphQL endpoint that entities with a `graphql:<rootField>` path are read from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub graphql: Option<Graphql>,
    /// Entities by name.
    pub entities: IndexMap<String, Entity>,
}

/// The GraphQL endpoint of a REST system (Shopify Admin API): entities whose `path` is
/// `graphql:<rootField>` are listed and read there instead of over REST.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Graphql {
    /// The endpoint's path relative to `base_url` (`/graphql.json`); `{option}` placeholders
    /// are filled from the system's options.
    pub path: String,
    /// Records asked for per page (`first: N`); default 50.
    #[serde(default)]
    pub page_size: Option<u32>,
    /// Facts about the endpoint (cost limits, versions), for people.
    #[serde(default)]
    pub doc: String,
}

/// Transport kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Transport {
    /// REST with JSON bodies.
    RestJson,
    /// JSON-RPC (Tryton).
    JsonRpc,
    /// Files: CSV, JSON or NDJSON sources; JSON documents written to a folder.
    File,
}

/// Where the facts of a profile come from.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SpecSource {
    /// The spec's kind and version (`OpenAPI 3.0.1`, `JSON Schema draft-03`, `docs`).
    pub kind: String,
    /// Where it was read (a URL or `owner/repo path @commit`).
    pub source: String,
}

/// A per-system option a project may or must set.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OptionSpec {
    /// What it is.
    #[serde(default)]
    pub doc: String,
    /// Must the project set it?
    #[serde(default)]
    pub required: bool,
    /// Value used when the project does not set it.
    #[serde(default)]
    pub default: Option<serde_yaml_ng::Value>,
}

/// Authentication of a system.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Auth {
    /// The scheme.
    #[serde(default)]
    pub kind: AuthKind,
    /// Credential keys the project must give in `systems.<alias>.auth`, each as `env:`/`file:`.
    #[serde(default)]
    pub credentials: Vec<String>,
    /// Header name for `api_key` / `bearer` when not `Authorization`.
    #[serde(default)]
    pub header: Option<String>,
    /// Login or token endpoint for `session_token`, `oauth2_client_credentials`, `json_rpc_login`.
    #[serde(default)]
    pub token_url: Option<String>,
    /// Extra facts (token lifetime, renewal), for people.
    #[serde(default)]
    pub doc: String,
}

/// Authentication schemes the runtime supports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthKind {
    /// No credentials (local files).
    #[default]
    None,
    /// `Authorization: Bearer <token>`.
    Bearer,
    /// A key in a header.
    ApiKey,
    /// HTTP Basic.
    Basic,
    /// OAuth2 client-credentials grant.
    Oauth2ClientCredentials,
    /// A login call that returns a session token, renewed on expiry.
    SessionToken,
    /// JSON-RPC `common.db.login` (Tryton).
    JsonRpcLogin,
}

/// Pagination of list operations.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Pagination {
    /// The scheme.
    pub kind: PaginationKind,
    /// Query parameter of the page number / offset / cursor.
    #[serde(default)]
    pub param: Option<String>,
    /// Query parameter of the page size.
    #[serde(default)]
    pub size_param: Option<String>,
    /// Largest page size the API accepts.
    #[serde(default)]
    pub max_size: Option<u32>,
    /// JSON pointer of the records in a response (`/values`); empty for a bare array.
    #[serde(default)]
    pub items: Option<String>,
    /// JSON pointer of the next cursor in a response, for `cursor`.
    #[serde(default)]
    pub next: Option<String>,
}

/// Pagination schemes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PaginationKind {
    /// Page numbers.
    Page,
    /// Offsets.
    Offset,
    /// An opaque cursor in the body.
    Cursor,
    /// RFC 8288 `Link: <…>; rel="next"` headers.
    LinkHeader,
    /// Everything in one response.
    None,
}

/// A client-side rate limit.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// Sustained requests per second.
    pub requests_per_second: rust_decimal::Decimal,
    /// Burst size.
    #[serde(default)]
    pub burst: Option<u32>,
    /// Largest number of requests in flight.
    #[serde(default)]
    pub concurrency: Option<u32>,
    /// Facts about the server's limit, for people.
    #[serde(default)]
    pub doc: String,
}

/// Incoming webhooks of a system.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Webhooks {
    /// How deliveries are authenticated.
    pub signature: Signature,
    /// Header that carries a delivery id for de-duplication.
    #[serde(default)]
    pub delivery_id_header: Option<String>,
    /// Header (or body pointer) that says which record changed.
    #[serde(default)]
    pub record_id: Option<String>,
    /// Set-up steps printed by `ledgerlink webhooks --print`.
    #[serde(default)]
    pub register: Vec<String>,
}

/// Webhook signature schemes.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Signature {
    /// The scheme.
    pub scheme: SignatureScheme,
    /// The header that carries the signature or token.
    #[serde(default)]
    pub header: Option<String>,
    /// What is signed: `{body}` and `{header:Name}` placeholders; default `{body}`.
    #[serde(default)]
    pub payload: Option<String>,
}

/// Signature schemes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SignatureScheme {
    /// base64(HMAC-SHA256(secret, payload)).
    HmacSha256Base64,
    /// hex(HMAC-SHA256(secret, payload)).
    HmacSha256Hex,
    /// base64(HMAC-SHA512(secret, payload)).
    HmacSha512Base64,
    /// A shared secret token in a header or the URL (systems that do not sign).
    SharedToken,
    /// No webhooks.
    None,
}

/// Verification level of a fact.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verified {
    /// Read in a published machine-readable spec.
    Spec,
    /// Read in official documentation.
    Docs,
    /// Seen in public client code only.
    Code,
    /// Our assumption; to be confirmed with the vendor.
    #[default]
    Assumed,
}

/// An entity (a record type) of a system.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Entity {
    /// What it is.
    #[serde(default)]
    pub doc: String,
    /// How its shape was verified.
    #[serde(default)]
    pub verified: Verified,
    /// API path (REST), model name (JSON-RPC) or file option (file).
    #[serde(default)]
    pub path: Option<String>,
    /// The field holding the system's id.
    pub id: String,
    /// Operations the API offers.
    #[serde(default)]
    pub operations: Vec<Operation>,
    /// The list filter for "changed since", if the API has one.
    #[serde(default)]
    pub changed_since: Option<String>,
    /// The field holding the last-modified time, used by `newest` conflict decisions.
    #[serde(default)]
    pub updated_at: Option<String>,
    /// The date field a flow's `since` compares with (the document's own date); defaults to
    /// `updated_at`.
    #[serde(default)]
    pub since: Option<String>,
    /// How changes become visible: webhook and/or polling.
    #[serde(default)]
    pub observe: Vec<Observe>,
    /// An idempotency key the API honours on create.
    #[serde(default)]
    pub idempotency: Option<Idempotency>,
    /// Where `post` may send this entity (`ledger`, `inbox`); empty for non-vouchers.
    #[serde(default)]
    pub destinations: Vec<String>,
    /// Custom fields addressed as `x.custom[key]`.
    #[serde(default)]
    pub custom_fields: Option<CustomFields>,
    /// Records may carry fields the profile does not list (generic file records): rules may
    /// name any field, whose type is then unknown to the checker.
    #[serde(default)]
    pub open: bool,
    /// The fields a rule may name a record by where a `reference` field wants its id (a
    /// unit by `symbol`, a country by `code`), tried in order; empty: only ids.
    #[serde(default)]
    pub found_by: Vec<String>,
    /// File sources: how the rows of a CSV file become records (one record per key, the
    /// rows its lines); `None`: one record per row.
    #[serde(default)]
    pub rows: Option<Rows>,
    /// How `post … to <destination>` reaches the API: a field set per destination; `None`:
    /// only the entity's first destination, which needs nothing sent.
    #[serde(default)]
    pub destination: Option<DestinationField>,
    /// The binary field `attach file` fills; `None`: the entity takes no attachments.
    #[serde(default)]
    pub attachment: Option<AttachmentField>,
    /// When a record of this entity is still a draft that `amend update` may write over;
    /// `None`: always (the entity is a draft by nature, or the API refuses on its own).
    #[serde(default)]
    pub draft: Option<Draft>,
    /// How a `credit` of this entity is made from the document it credits; `None`: the
    /// rules' fields alone.
    #[serde(default)]
    pub credit: Option<Credit>,
    /// How `settle documents` in a document of this entity reaches the API; `None`: it
    /// cannot settle anything.
    #[serde(default)]
    pub settle: Option<Settle>,
    /// Fields by name.
    pub fields: Fields,
}

/// API operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    /// List (with pagination).
    List,
    /// Get one by id.
    Get,
    /// Search by a field value.
    Search,
    /// Create.
    Create,
    /// Update.
    Update,
    /// Delete.
    Delete,
}

/// How changes of an entity can be observed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Observe {
    /// Webhook notifications.
    Webhook,
    /// Polling lists and comparing snapshots.
    Poll,
}

/// How a document settles other documents (a voucher registering the payment of invoices):
/// each settled document becomes an item of one of its list fields.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Settle {
    /// What settling means in this system, for people.
    #[serde(default)]
    pub doc: String,
    /// The entity of the documents it settles (an invoice).
    pub entity: String,
    /// The list field each settled document adds an item to.
    pub list: String,
    /// The item's fields, each from the first of its sources that is not null: `id` (the
    /// settled document's id), `settled.<path>` (a field of the settled document as the
    /// target last returned it) or `line.<path>` (a field of this document's first line).
    pub item: IndexMap<String, Sources>,
}

/// `post … to d` sets `field` to `values[d]` (24SevenOffice: `DirectLedger`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DestinationField {
    /// The field.
    pub field: String,
    /// Its value per destination.
    pub values: IndexMap<String, serde_json::Value>,
}

/// `attach file` puts the file into `field` as `{file_name, content_type, base64}`; the
/// transport sends it as the system wants (inline, or uploaded after the record is saved).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AttachmentField {
    /// The binary field.
    pub field: String,
}

/// A record is a draft while `field` holds one of `values`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Draft {
    /// The state field.
    pub field: String,
    /// The states in which the record may still be written over.
    pub values: Vec<String>,
}

/// How a credit (a credit note) is made from the document it credits: the fields it copies
/// from that document, with the amounts or quantities whose sign it turns.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Credit {
    /// What a credit is in this system, for people.
    #[serde(default)]
    pub doc: String,
    /// Fields copied from the credited document when the rules do not set them (only what
    /// this entity declares writable, down into lines).
    pub copy: Vec<String>,
    /// Paths (`lines.quantity`) whose values are negated in the copy.
    #[serde(default)]
    pub negate: Vec<String>,
}

/// How the rows of a CSV file make records: rows with the same `key` column form one record
/// whose `fields` come from its first row and whose `lines` list holds one item per row.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Rows {
    /// The column whose value names the record a row belongs to.
    pub key: String,
    /// Record fields by the column they come from; every row of a record must agree on them.
    pub fields: IndexMap<String, String>,
    /// Record fields taken from a system option when their column is missing or empty.
    #[serde(default)]
    pub defaults: IndexMap<String, String>,
    /// The list field the rows become items of.
    pub lines: String,
    /// Item fields by the column they come from.
    pub line_fields: IndexMap<String, String>,
    /// Columns holding decimal numbers, written with the `decimal_separator` option's
    /// separator (and maybe spaces between thousands); read as `-1234.50` texts.
    #[serde(default)]
    pub numbers: Vec<String>,
}

/// One value source, or several tried in order.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(untagged)]
pub enum Sources {
    /// One source.
    One(String),
    /// The first source that gives a value.
    FirstOf(Vec<String>),
}

impl Sources {
    /// The sources in the order they are tried.
    pub fn all(&self) -> &[String] {
        match self {
            Sources::One(source) => std::slice::from_ref(source),
            Sources::FirstOf(sources) => sources,
        }
    }
}

/// An idempotency key honoured on create.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Idempotency {
    /// A request header carrying a key the server de-duplicates on (e-conomic `Idempotency-Key`).
    #[serde(default)]
    pub header: Option<String>,
    /// An API call that reserves the new record's key before it is created (24SevenOffice
    /// `GetStampNo`); the runtime keeps the reserved key in its intent and searches by it
    /// after a crash.
    #[serde(default)]
    pub reserve: Option<String>,
    /// How long the server remembers a key, for people.
    #[serde(default)]
    pub doc: String,
}

/// Custom fields of an entity.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CustomFields {
    /// Whether keys are numeric ids or names.
    pub key: CustomKey,
    /// The type of every custom field (text when unknown).
    #[serde(default = "text_type")]
    pub r#type: FieldType,
    /// The API can search records by a custom field's value.
    #[serde(default)]
    pub searchable: bool,
    /// A custom field may hold an external reference that finds the record again.
    #[serde(default)]
    pub external_ref: bool,
    /// How the runtime resolves a key (for people).
    #[serde(default)]
    pub doc: String,
}

fn text_type() -> FieldType {
    FieldType::Text
}

/// Custom field key kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CustomKey {
    /// `custom[1041]`
    Id,
    /// `custom["EAN"]`
    Name,
}

/// A typed field.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Field {
    /// Its type.
    pub r#type: FieldType,
    /// What it is.
    #[serde(default)]
    pub doc: String,
    /// Must be set on create.
    #[serde(default)]
    pub required: bool,
    /// Set by the system; rules cannot write it.
    #[serde(default)]
    pub read_only: bool,
    /// No two records share a value (a safe match key).
    #[serde(default)]
    pub unique: bool,
    /// The API can search by it.
    #[serde(default)]
    pub searchable: bool,
    /// A field a rule may set to find the record again (an external reference).
    #[serde(default)]
    pub external_ref: bool,
    /// Changes to it are seen by polling or webhooks (default true).
    #[serde(default = "yes")]
    pub observable: bool,
    /// Allowed values of an `enum`.
    #[serde(default)]
    pub values: Vec<String>,
    /// Referenced entity of a `reference`.
    #[serde(default)]
    pub entity: Option<String>,
    /// Nested fields of a `record`, or of each item of a `list`.
    #[serde(default)]
    pub fields: Fields,
    /// Item type of a `list` of scalars.
    #[serde(default)]
    pub item: Option<FieldType>,
    /// Longest text accepted.
    #[serde(default)]
    pub max_length: Option<u32>,
    /// Currency field or fixed ISO code of a `money` field.
    #[serde(default)]
    pub currency: Option<String>,
    /// A `list` that GraphQL returns as a Relay connection (`edges { node { … } }`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub connection: bool,
}

fn yes() -> bool {
    true
}

/// Field types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    /// Text.
    Text,
    /// Whole number.
    Integer,
    /// Exact decimal (quantities, rates).
    Decimal,
    /// An amount of money (exact, in a currency).
    Money,
    /// A percentage.
    Percent,
    /// A calendar date.
    Date,
    /// A date and time.
    Datetime,
    /// true / false.
    Bool,
    /// One of `values`.
    Enum,
    /// A link to another entity (its id).
    Reference,
    /// A nested object with `fields`.
    Record,
    /// A list of records (`fields`) or of scalars (`item`).
    List,
    /// A file (PDF attachment).
    Binary,
}
