//! Field-level differences between two [`Outcomes`]: the golden file (before) and what the
//! current rules make of the recording (after).
//!
//! Flows are matched by name and records by source (`system.Entity:id`). Within a record,
//! documents are matched by key first; documents left over are paired by operation and
//! target in order (a rule change that moves a write changes its key, and the pair is shown
//! as one changed document with its `key` among the changed fields); the rest are added or
//! removed. Payload fields are named by path: `payload.lines[0].unit_price`.

use std::fmt::Write as _;

use serde::Serialize;
use serde_json::Value as Json;

use super::{DocumentOutcome, FlowOutcomes, OutcomeKind, Outcomes, RecordOutcome};
use crate::runtime::compare::changes_by;
pub use crate::runtime::compare::FieldChange;

/// One difference.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Difference {
    /// The flow.
    pub flow: String,
    /// The source record, when the difference is about one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// What differs.
    #[serde(flatten)]
    pub change: Change,
}

/// What differs.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Change {
    /// A flow the golden file does not have.
    FlowAdded {
        /// Records it evaluated.
        records: usize,
        /// Documents it wrote.
        documents: usize,
    },
    /// A flow of the golden file the rules no longer have.
    FlowRemoved {
        /// Records it evaluated.
        records: usize,
        /// Documents it wrote.
        documents: usize,
    },
    /// Whether (and why) the flow could not be replayed differs.
    Unreadable {
        /// Before.
        #[serde(skip_serializing_if = "Option::is_none")]
        before: Option<String>,
        /// After.
        #[serde(skip_serializing_if = "Option::is_none")]
        after: Option<String>,
    },
    /// A record only the new outcomes have.
    RecordAdded {
        /// Its outcome.
        outcome: String,
    },
    /// A record only the golden file has.
    RecordRemoved {
        /// Its outcome there.
        outcome: String,
    },
    /// The record's outcome (or its reason) differs.
    Outcome {
        /// Before, e.g. `documents (3)` or `skipped: …`.
        before: String,
        /// After.
        after: String,
    },
    /// A new document.
    DocumentAdded {
        /// Which.
        document: DocumentRef,
        /// Its body.
        payload: Json,
    },
    /// A document no longer written.
    DocumentRemoved {
        /// Which.
        document: DocumentRef,
        /// Its body in the golden file.
        payload: Json,
    },
    /// A document written differently.
    DocumentChanged {
        /// Which (as it is now).
        document: DocumentRef,
        /// The fields that differ.
        fields: Vec<FieldChange>,
    },
}

/// Names a document.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DocumentRef {
    /// upsert / ensure / create / credit / post.
    pub operation: String,
    /// `system.Entity`.
    pub target: String,
    /// Document key.
    pub key: String,
}

impl From<&DocumentOutcome> for DocumentRef {
    fn from(d: &DocumentOutcome) -> Self {
        DocumentRef {
            operation: d.operation.clone(),
            target: d.target.clone(),
            key: d.key.clone(),
        }
    }
}

/// Every difference from `before` (golden) to `after` (now).
pub fn diff(before: &Outcomes, after: &Outcomes) -> Vec<Difference> {
    let mut out = Vec::new();
    for (flow, b) in &before.flows {
        match after.flows.get(flow) {
            Some(a) => diff_flow(flow, b, a, &mut out),
            None => {
                let (records, documents) = flow_counts(b);
                out.push(Difference {
                    flow: flow.clone(),
                    source: None,
                    change: Change::FlowRemoved { records, documents },
                });
            }
        }
    }
    for (flow, a) in &after.flows {
        if !before.flows.contains_key(flow) {
            let (records, documents) = flow_counts(a);
            out.push(Difference {
                flow: flow.clone(),
                source: None,
                change: Change::FlowAdded { records, documents },
            });
        }
    }
    out
}

fn flow_counts(flow: &FlowOutcomes) -> (usize, usize) {
    (
        flow.records.len(),
        flow.records.values().map(|r| r.documents.len()).sum(),
    )
}

fn diff_flow(name: &str, before: &FlowOutcomes, after: &FlowOutcomes, out: &mut Vec<Difference>) {
    let at = |source: Option<&String>, change| Difference {
        flow: name.to_string(),
        source: source.cloned(),
        change,
    };
    if before.unreadable != after.unreadable {
        out.push(at(
            None,
            Change::Unreadable {
                before: before.unreadable.clone(),
                after: after.unreadable.clone(),
            },
        ));
    }
    for (source, b) in &before.records {
        let Some(a) = after.records.get(source) else {
            out.push(at(
                Some(source),
                Change::RecordRemoved {
                    outcome: summary(b),
                },
            ));
            continue;
        };
        let same_outcome = b.outcome == a.outcome && b.reason == a.reason;
        if !same_outcome {
            out.push(at(
                Some(source),
                Change::Outcome {
                    before: summary(b),
                    after: summary(a),
                },
            ));
        }
        if b.outcome == OutcomeKind::Documents && a.outcome == OutcomeKind::Documents {
            for change in diff_documents(&b.documents, &a.documents) {
                out.push(at(Some(source), change));
            }
        }
    }
    for (source, a) in &after.records {
        if !before.records.contains_key(source) {
            out.push(at(
                Some(source),
                Change::RecordAdded {
                    outcome: summary(a),
                },
            ));
        }
    }
}

/// `documents (3)`, `skipped: reason`, `failed: reason`, `not triggered`, `unchanged`.
pub fn summary(record: &RecordOutcome) -> String {
    match (record.outcome, &record.reason) {
        (OutcomeKind::Documents, _) => format!("documents ({})", record.documents.len()),
        (kind, Some(reason)) => format!("{}: {reason}", kind.name()),
        (kind, None) => kind.name().to_string(),
    }
}

fn diff_documents(before: &[DocumentOutcome], after: &[DocumentOutcome]) -> Vec<Change> {
    let mut pairs: Vec<(Option<usize>, Option<usize>)> = Vec::new();
    let mut matched_after = vec![false; after.len()];
    let mut unmatched_before = Vec::new();
    for (i, b) in before.iter().enumerate() {
        match after
            .iter()
            .enumerate()
            .position(|(j, a)| !matched_after[j] && a.key == b.key)
        {
            Some(j) => {
                matched_after[j] = true;
                pairs.push((Some(i), Some(j)));
            }
            None => unmatched_before.push(i),
        }
    }
    for i in unmatched_before {
        let b = &before[i];
        match after.iter().enumerate().position(|(j, a)| {
            !matched_after[j] && a.operation == b.operation && a.target == b.target
        }) {
            Some(j) => {
                matched_after[j] = true;
                pairs.push((Some(i), Some(j)));
            }
            None => pairs.push((Some(i), None)),
        }
    }
    for (j, matched) in matched_after.iter().enumerate() {
        if !matched {
            pairs.push((None, Some(j)));
        }
    }
    // Report in the order the documents are written now (removed ones where they were).
    pairs.sort_by_key(|(b, a)| (a.unwrap_or(usize::MAX), b.unwrap_or(usize::MAX)));
    let mut changes = Vec::new();
    for pair in pairs {
        match pair {
            (Some(i), Some(j)) => {
                let (b, a) = (&before[i], &after[j]);
                let mut fields = Vec::new();
                for (path, x, y) in [
                    ("operation", &b.operation, &a.operation),
                    ("target", &b.target, &a.target),
                    ("key", &b.key, &a.key),
                ] {
                    if x != y {
                        fields.push(FieldChange {
                            path: path.to_string(),
                            before: Some(Json::String(x.clone())),
                            after: Some(Json::String(y.clone())),
                        });
                    }
                }
                optional_diff("lookup", b.lookup.as_ref(), a.lookup.as_ref(), &mut fields);
                json_diff("payload", &b.payload, &a.payload, &mut fields);
                if !fields.is_empty() {
                    changes.push(Change::DocumentChanged {
                        document: a.into(),
                        fields,
                    });
                }
            }
            (Some(i), None) => changes.push(Change::DocumentRemoved {
                document: (&before[i]).into(),
                payload: before[i].payload.clone(),
            }),
            (None, Some(j)) => changes.push(Change::DocumentAdded {
                document: (&after[j]).into(),
                payload: after[j].payload.clone(),
            }),
            (None, None) => {}
        }
    }
    changes
}

fn optional_diff(
    path: &str,
    before: Option<&Json>,
    after: Option<&Json>,
    out: &mut Vec<FieldChange>,
) {
    changes_by(path, before, after, &|a, b| a == b, out);
}

/// The fields that differ between two JSON values, by path under `path`: objects by key,
/// lists by position, scalars exactly.
pub fn json_diff(path: &str, before: &Json, after: &Json, out: &mut Vec<FieldChange>) {
    optional_diff(path, Some(before), Some(after), out);
}

/// A value in a message: compact JSON, `(absent)` for a missing side, long values shortened.
pub fn show(value: Option<&Json>) -> String {
    let Some(value) = value else {
        return "(absent)".to_string();
    };
    let text = value.to_string();
    if text.chars().count() > 120 {
        let short: String = text.chars().take(117).collect();
        format!("{short}…")
    } else {
        text
    }
}

/// The differences for people, grouped by flow and record, indented by `indent`.
pub fn render(differences: &[Difference], indent: &str) -> String {
    let mut out = String::new();
    let mut heading: Option<(&str, Option<&str>)> = None;
    for d in differences {
        let here = (d.flow.as_str(), d.source.as_deref());
        if heading != Some(here) {
            heading = Some(here);
            let _ = match here.1 {
                Some(source) => writeln!(out, "{indent}flow {} record {source}:", here.0),
                None => writeln!(out, "{indent}flow {}:", here.0),
            };
        }
        let _ = match &d.change {
            Change::FlowAdded { records, documents } => writeln!(
                out,
                "{indent}  new flow: {records} records, {documents} documents"
            ),
            Change::FlowRemoved { records, documents } => writeln!(
                out,
                "{indent}  flow no longer in the rules (had {records} records, {documents} documents)"
            ),
            Change::Unreadable { before, after } => writeln!(
                out,
                "{indent}  not replayable: {} → {}",
                before.as_deref().unwrap_or("(replayed)"),
                after.as_deref().unwrap_or("(replayed)")
            ),
            Change::RecordAdded { outcome } => {
                writeln!(out, "{indent}  record not in expected.json: {outcome}")
            }
            Change::RecordRemoved { outcome } => {
                writeln!(out, "{indent}  record no longer evaluated (was {outcome})")
            }
            Change::Outcome { before, after } => {
                writeln!(out, "{indent}  outcome: {before} → {after}")
            }
            Change::DocumentAdded { document, payload } => writeln!(
                out,
                "{indent}  added {} {} [{}]: {}",
                document.operation,
                document.target,
                short_key(&document.key),
                show(Some(payload))
            ),
            Change::DocumentRemoved { document, payload } => writeln!(
                out,
                "{indent}  removed {} {} [{}]: {}",
                document.operation,
                document.target,
                short_key(&document.key),
                show(Some(payload))
            ),
            Change::DocumentChanged { document, fields } => {
                let _ = writeln!(
                    out,
                    "{indent}  changed {} {} [{}]:",
                    document.operation,
                    document.target,
                    short_key(&document.key)
                );
                for field in fields {
                    let _ = writeln!(
                        out,
                        "{indent}    {}: {} → {}",
                        field.path,
                        show(field.before.as_ref()),
                        show(field.after.as_ref())
                    );
                }
                Ok(())
            }
        };
    }
    out
}

fn short_key(key: &str) -> &str {
    key.get(..12).unwrap_or(key)
}

#[cfg(test)]
mod tests {
    use indexmap::IndexMap;
    use serde_json::json;

    use super::*;

    fn doc(key: &str, target: &str, payload: Json) -> DocumentOutcome {
        DocumentOutcome {
            operation: "create".into(),
            target: target.into(),
            key: key.into(),
            lookup: None,
            payload,
        }
    }

    fn outcomes(records: Vec<(&str, RecordOutcome)>) -> Outcomes {
        let mut flows = IndexMap::new();
        flows.insert(
            "f".to_string(),
            FlowOutcomes {
                source: "shop.Order".into(),
                unreadable: None,
                records: records
                    .into_iter()
                    .map(|(s, r)| (s.to_string(), r))
                    .collect(),
            },
        );
        Outcomes {
            ledgerlink_expected: 1,
            project: "p".into(),
            today: chrono::NaiveDate::from_ymd_opt(2026, 3, 10).unwrap(),
            flows,
        }
    }

    fn documents(docs: Vec<DocumentOutcome>) -> RecordOutcome {
        RecordOutcome {
            outcome: OutcomeKind::Documents,
            reason: None,
            documents: docs,
        }
    }

    #[test]
    fn equal_outcomes_have_no_differences() {
        let a = outcomes(vec![(
            "shop.Order:1",
            documents(vec![doc("k1", "erp.Sale", json!({"x": 1}))]),
        )]);
        assert!(diff(&a, &a.clone()).is_empty());
    }

    #[test]
    fn nested_fields_are_named_by_path() {
        let mut out = Vec::new();
        json_diff(
            "payload",
            &json!({"a": 1, "lines": [{"price": 10}, {"price": 5}], "gone": true, "odd key": 1}),
            &json!({"a": 1, "lines": [{"price": 12}], "new": "x", "odd key": 2}),
            &mut out,
        );
        let paths: Vec<_> = out
            .iter()
            .map(|c| {
                (
                    c.path.as_str(),
                    show(c.before.as_ref()),
                    show(c.after.as_ref()),
                )
            })
            .collect();
        assert_eq!(
            paths,
            [
                ("payload.lines[0].price", "10".into(), "12".into()),
                (
                    "payload.lines[1]",
                    "{\"price\":5}".into(),
                    "(absent)".into()
                ),
                ("payload.new", "(absent)".into(), "\"x\"".into()),
                ("payload[\"odd key\"]", "1".into(), "2".into()),
                ("payload.gone", "true".into(), "(absent)".into()),
            ]
        );
    }

    #[test]
    fn documents_match_by_key_then_by_target() {
        let before = outcomes(vec![(
            "shop.Order:1",
            documents(vec![
                doc("k1", "erp.Party", json!({"name": "A"})),
                doc("k2", "erp.Sale", json!({"total": 10})),
                doc("k3", "erp.Note", json!({})),
            ]),
        )]);
        let after = outcomes(vec![(
            "shop.Order:1",
            documents(vec![
                doc("k1", "erp.Party", json!({"name": "A"})),
                // Moved in the rules: another key, same target.
                doc("k9", "erp.Sale", json!({"total": 12})),
                doc("k4", "erp.Invoice", json!({"n": 1})),
            ]),
        )]);
        let changes = diff(&before, &after);
        assert_eq!(changes.len(), 3, "{changes:#?}");
        let Change::DocumentChanged { document, fields } = &changes[0].change else {
            panic!("{changes:#?}")
        };
        assert_eq!(document.key, "k9");
        assert_eq!(
            fields.iter().map(|f| f.path.as_str()).collect::<Vec<_>>(),
            ["key", "payload.total"]
        );
        assert!(
            matches!(&changes[1].change, Change::DocumentAdded { document, .. } if document.target == "erp.Invoice")
        );
        assert!(
            matches!(&changes[2].change, Change::DocumentRemoved { document, .. } if document.key == "k3")
        );
        assert_eq!(changes[0].source.as_deref(), Some("shop.Order:1"));
        let text = render(&changes, "");
        assert!(text.contains("flow f record shop.Order:1:"), "{text}");
        assert!(text.contains("payload.total: 10 → 12"), "{text}");
    }

    #[test]
    fn outcome_changes_are_reported_with_reasons() {
        let before = outcomes(vec![
            (
                "shop.Order:1",
                documents(vec![doc("k1", "erp.Sale", json!({}))]),
            ),
            (
                "shop.Order:2",
                RecordOutcome {
                    outcome: OutcomeKind::NotTriggered,
                    reason: None,
                    documents: vec![],
                },
            ),
        ]);
        let after = outcomes(vec![
            (
                "shop.Order:1",
                RecordOutcome {
                    outcome: OutcomeKind::Skipped,
                    reason: Some("no email".into()),
                    documents: vec![],
                },
            ),
            (
                "shop.Order:3",
                RecordOutcome {
                    outcome: OutcomeKind::Failed,
                    reason: Some("bad date".into()),
                    documents: vec![],
                },
            ),
        ]);
        let changes = diff(&before, &after);
        assert_eq!(
            changes
                .iter()
                .map(|d| (d.source.clone().unwrap(), d.change.clone()))
                .collect::<Vec<_>>(),
            [
                (
                    "shop.Order:1".to_string(),
                    Change::Outcome {
                        before: "documents (1)".into(),
                        after: "skipped: no email".into()
                    }
                ),
                (
                    "shop.Order:2".to_string(),
                    Change::RecordRemoved {
                        outcome: "not triggered".into()
                    }
                ),
                (
                    "shop.Order:3".to_string(),
                    Change::RecordAdded {
                        outcome: "failed: bad date".into()
                    }
                ),
            ]
        );
    }

    #[test]
    fn flows_added_and_removed() {
        let before = outcomes(vec![]);
        let mut after = before.clone();
        let flow = after.flows.shift_remove("f").unwrap();
        after.flows.insert("g".into(), flow);
        let changes = diff(&before, &after);
        assert_eq!(changes.len(), 2);
        assert!(matches!(changes[0].change, Change::FlowRemoved { .. }));
        assert!(matches!(changes[1].change, Change::FlowAdded { .. }));
        let json = serde_json::to_value(&changes[0]).unwrap();
        assert_eq!(json["change"], "flow_removed");
        assert_eq!(json["flow"], "f");
    }
}
