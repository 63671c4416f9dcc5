//! Amendments: a source record that changes after its flow made documents of it (a quote
//! re-exported with another price after it became orders). The trigger does not fire again
//! (`becomes` saw the change already), so the record is evaluated as if new and its documents
//! compared with the last ones recorded under the same keys. What happens to those that
//! differ is the flow's `amend` policy:
//!
//! - `ignore`: nothing is sent; the export log says what changed and that it was left.
//! - `update`: each changed document is written over in the target, but only while the
//!   target still holds it as a draft (the profile's `draft`); a booked one is a dead letter
//!   that says so.
//! - `credit_and_reissue`: each changed document is credited and sent again as new.
//!
//! Changed `upsert`s are sent again under every policy (an upsert is the current state of a
//! record, not a document); `ensure`s never change what exists. Amended intents have keys
//! made of the original key and the new payload, so evaluating the same change twice records
//! it once, and a later change compares with the latest amendment.

use std::collections::HashMap;

use serde_json::Value as Json;

use super::document::{hex_sha256, Document};
use crate::{
    state::{Intent, NewIntent},
    syntax::ast::WriteKind,
};

/// The lookup field an amending intent names its original document's key in.
pub const AMENDS: &str = "amends";

/// The operation that writes a changed document over its original (`amend update`).
pub const AMEND_UPDATE: &str = "amend";

/// A flow's `amend` policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// Leave sent documents as they are.
    Ignore,
    /// Write changed documents over while they are drafts.
    Update,
    /// Credit changed documents and send them again.
    CreditAndReissue,
}

impl Policy {
    /// The policy named in a rule file (`ignore` for anything else: the checker refuses
    /// unknown names, LL105).
    pub fn named(name: &str) -> Policy {
        match name {
            "update" => Policy::Update,
            "credit_and_reissue" => Policy::CreditAndReissue,
            _ => Policy::Ignore,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Policy::Ignore => "ignore",
            Policy::Update => "update",
            Policy::CreditAndReissue => "credit_and_reissue",
        }
    }
}

/// What an amendment records: new intents and the export log's account of it.
#[derive(Debug, Default)]
pub struct Amendment {
    /// Intents to record (none under `ignore` except changed upserts).
    pub intents: Vec<NewIntent>,
    /// The export-log message; `None` when nothing the flow sent has changed.
    pub message: Option<String>,
}

/// Compares `documents` (the record evaluated anew) with `existing` (the intents recorded for
/// the same source and flow) and applies `policy`. `intent_of` turns a document into the
/// intent it would be recorded as.
pub fn amend(
    policy: Policy,
    source: &str,
    documents: &[Document],
    existing: &[Intent],
    intent_of: &dyn Fn(&Document) -> NewIntent,
) -> Amendment {
    if existing.is_empty() {
        return Amendment::default();
    }
    // The latest payload recorded for each original key (intents come in commit order).
    let mut latest: HashMap<&str, &Intent> = HashMap::new();
    for intent in existing {
        let original = intent
            .lookup
            .as_ref()
            .and_then(|l| l.get(AMENDS))
            .and_then(Json::as_str)
            .unwrap_or(&intent.key);
        if intent.operation != "credit" || original == intent.key {
            latest.insert(original, intent);
        }
    }
    let mut amendment = Amendment::default();
    let mut changed = Vec::new();
    for document in documents {
        let payload = Json::Object(document.payload.clone());
        let Some(last) = latest.get(document.key.as_str()) else {
            // A document the record did not make before (a new product group's product).
            amendment.intents.push(intent_of(document));
            continue;
        };
        if last.payload == payload {
            continue;
        }
        let target = format!("{}.{}", document.target.system, document.target.entity);
        match (document.kind, policy) {
            (WriteKind::Ensure, _) => {}
            (WriteKind::Upsert, _) => {
                amendment
                    .intents
                    .push(amended(intent_of(document), &document.key, &payload));
            }
            (_, Policy::Ignore) => changed.push(target),
            (_, Policy::Update) => {
                let mut intent = amended(intent_of(document), &document.key, &payload);
                intent.operation = AMEND_UPDATE.to_string();
                intent.idempotency_key = None;
                intent.depends_on.push(document.key.clone());
                amendment.intents.push(intent);
                changed.push(target);
            }
            (_, Policy::CreditAndReissue) => {
                let mut credit = amended(intent_of(document), &document.key, &Json::Null);
                credit.key = hex_sha256(&[&document.key, "credit", &payload.to_string()]);
                credit.operation = "credit".to_string();
                credit.payload = serde_json::json!({
                    "$credit_for": { "source": source, "entity": document.target.entity, "key": document.key }
                });
                credit.depends_on = vec![document.key.clone()];
                credit.lookup = Some(serde_json::json!({ AMENDS: document.key }));
                let mut reissue = amended(intent_of(document), &document.key, &payload);
                reissue.depends_on.push(credit.key.clone());
                amendment.intents.push(credit);
                amendment.intents.push(reissue);
                changed.push(target);
            }
        }
    }
    if !changed.is_empty() {
        let done = match policy {
            Policy::Ignore => "left as sent",
            Policy::Update => "updated while drafts",
            Policy::CreditAndReissue => "credited and sent again",
        };
        amendment.message = Some(format!(
            "amend {}: {source} changed after its documents were sent; {} {done}",
            policy.name(),
            changed.join(", ")
        ));
    }
    amendment
}

/// `intent` as the amendment of the document `original` with `payload`.
fn amended(mut intent: NewIntent, original: &str, payload: &Json) -> NewIntent {
    intent.key = hex_sha256(&[original, &payload.to_string()]);
    let mut lookup = match intent.lookup.take() {
        Some(Json::Object(map)) => map,
        _ => serde_json::Map::new(),
    };
    lookup.insert(AMENDS.into(), Json::String(original.to_string()));
    intent.lookup = Some(Json::Object(lookup));
    if intent.idempotency_key.is_some() {
        intent.idempotency_key = Some(intent.key.clone());
    }
    intent
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Map};

    use super::*;
    use crate::{plan::EntityRef, state::IntentStatus};

    fn document(key: &str, kind: WriteKind, payload: Json) -> Document {
        Document {
            key: key.into(),
            kind,
            target: EntityRef {
                system: "acc".into(),
                entity: "Sale".into(),
            },
            payload: payload.as_object().cloned().unwrap_or_default(),
            lookup: Some(json!({ "field": "reference", "value": "q1" })),
            depends_on: Vec::new(),
            destination: None,
        }
    }

    fn intent_of(document: &Document) -> NewIntent {
        NewIntent {
            key: document.key.clone(),
            project: "p".into(),
            flow: "f".into(),
            source: "s.Q:1".into(),
            system: document.target.system.clone(),
            entity: document.target.entity.clone(),
            operation: document.operation().into(),
            payload: Json::Object(document.payload.clone()),
            lookup: document.lookup.clone(),
            idempotency_key: None,
            depends_on: document.depends_on.clone(),
        }
    }

    fn recorded(new: NewIntent, sequence: i64) -> Intent {
        Intent {
            key: new.key,
            sequence,
            project: new.project,
            flow: new.flow,
            source: new.source,
            system: new.system,
            entity: new.entity,
            operation: new.operation,
            payload: new.payload,
            lookup: new.lookup,
            idempotency_key: new.idempotency_key,
            depends_on: new.depends_on,
            status: IntentStatus::Done,
            attempts: 1,
            target_id: Some("7".into()),
            response: Some(Json::Object(Map::new())),
            error: None,
            created_at: String::new(),
            updated_at: String::new(),
        }
    }

    fn sent() -> Vec<Intent> {
        vec![
            recorded(
                intent_of(&document(
                    "party",
                    WriteKind::Upsert,
                    json!({ "name": "A" }),
                )),
                1,
            ),
            recorded(
                intent_of(&document("sale", WriteKind::Create, json!({ "total": 10 }))),
                2,
            ),
        ]
    }

    fn amend_with(policy: Policy, sale_total: i64, party: &str) -> Amendment {
        let documents = [
            document("party", WriteKind::Upsert, json!({ "name": party })),
            document("sale", WriteKind::Create, json!({ "total": sale_total })),
        ];
        amend(policy, "s.Q:1", &documents, &sent(), &intent_of)
    }

    #[test]
    fn an_unchanged_record_amends_nothing() {
        let amendment = amend_with(Policy::Update, 10, "A");
        assert!(amendment.intents.is_empty());
        assert_eq!(amendment.message, None);
    }

    #[test]
    fn ignore_sends_only_changed_upserts_and_says_what_it_left() {
        let amendment = amend_with(Policy::Ignore, 12, "B");
        assert_eq!(amendment.intents.len(), 1);
        assert_eq!(amendment.intents[0].operation, "upsert");
        assert_eq!(
            amendment.intents[0]
                .lookup
                .as_ref()
                .and_then(|l| l.get(AMENDS)),
            Some(&json!("party"))
        );
        assert_eq!(
            amendment.message.as_deref(),
            Some(
                "amend ignore: s.Q:1 changed after its documents were sent; acc.Sale left as sent"
            )
        );
    }

    #[test]
    fn update_writes_over_the_original_once_it_is_delivered() {
        let amendment = amend_with(Policy::Update, 12, "A");
        let [update] = amendment.intents.as_slice() else {
            panic!("{:?}", amendment.intents)
        };
        assert_eq!(update.operation, AMEND_UPDATE);
        assert_eq!(update.payload, json!({ "total": 12 }));
        assert_eq!(update.depends_on, ["sale"]);
        assert_ne!(update.key, "sale");
        // The same change evaluated again is the same intent (recorded once).
        assert_eq!(
            amend_with(Policy::Update, 12, "A").intents[0].key,
            update.key
        );
    }

    #[test]
    fn a_later_change_compares_with_the_latest_amendment() {
        let first = amend_with(Policy::Update, 12, "A").intents.remove(0);
        let mut existing = sent();
        existing.push(recorded(first, 3));
        let documents = [
            document("party", WriteKind::Upsert, json!({ "name": "A" })),
            document("sale", WriteKind::Create, json!({ "total": 12 })),
        ];
        let again = amend(Policy::Update, "s.Q:1", &documents, &existing, &intent_of);
        assert!(again.intents.is_empty(), "{:?}", again.intents);
        // Back to the original content: that is a change too.
        let documents = [
            documents[0].clone(),
            document("sale", WriteKind::Create, json!({ "total": 10 })),
        ];
        let back = amend(Policy::Update, "s.Q:1", &documents, &existing, &intent_of);
        assert_eq!(back.intents.len(), 1);
    }

    #[test]
    fn credit_and_reissue_credits_the_original_then_sends_it_anew() {
        let amendment = amend_with(Policy::CreditAndReissue, 12, "A");
        let [credit, reissue] = amendment.intents.as_slice() else {
            panic!("{:?}", amendment.intents)
        };
        assert_eq!(credit.operation, "credit");
        assert_eq!(credit.payload["$credit_for"]["key"], "sale");
        assert_eq!(credit.depends_on, ["sale"]);
        assert_eq!(reissue.operation, "create");
        assert_eq!(reissue.payload, json!({ "total": 12 }));
        assert_eq!(reissue.depends_on, std::slice::from_ref(&credit.key));
    }
}
