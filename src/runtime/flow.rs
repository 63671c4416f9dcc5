//! Evaluating a flow for one source record: the trigger, `since`, `require`, and the steps
//! that turn the record into [`Document`]s. Pure: no I/O happens here; the records that
//! `find` and `exists` search are prefetched by the caller.

use std::{collections::HashMap, fmt::Write, rc::Rc};

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde_json::{Map, Value as Json};

use super::document::{external_lookup, json_payload, object_references, to_json, Document, REF};
use crate::{
    connector::{registry::Profiles, Entity},
    eval::{
        record::{
            bind, evaluate, evaluate_borrowed, group_by, json_path, part_value, truthy, Binding,
            Collections, Env,
        },
        shares::PartShares,
        split::{split_amount, split_table, SplitError},
        EvalError, EvalErrorKind, Value,
    },
    plan::{EntityRef, Flow, Plan, PlanExpr, Step},
    syntax::ast::WriteKind,
};

/// Everything a flow evaluation reads besides the record.
pub struct FlowContext<'a> {
    /// Project name (part of every document key).
    pub project: &'a str,
    /// The compiled plan.
    pub plan: &'a Plan,
    /// The flow.
    pub flow: &'a Flow,
    /// Connector profiles by connector name.
    pub profiles: &'a Profiles,
    /// Connector name of each system alias.
    pub connectors: &'a HashMap<String, String>,
    /// The evaluation date (`today()`).
    pub today: NaiveDate,
    /// Records of other entities for `find` / `exists`.
    pub collections: &'a dyn Collections,
}

impl FlowContext<'_> {
    /// The profile entity of `system.entity`.
    pub fn entity(&self, target: &EntityRef) -> Option<&Entity> {
        let connector = self.connectors.get(&target.system)?;
        self.profiles.get(connector)?.entities.get(&target.entity)
    }
}

/// What a record's evaluation came to.
#[derive(Debug)]
pub enum Outcome {
    /// The trigger did not fire.
    NotTriggered,
    /// Fired, but the record is older than `since`: nothing is ever sent for it.
    Skipped(String),
    /// Fired, but a `require` held it back: nothing is sent yet; the record is evaluated
    /// again on later runs until it passes (a customer that must reach the ERP first).
    Waiting(String),
    /// The documents to write.
    Documents(Vec<Document>),
}

/// Evaluates `flow` for `record` (`source` is `system.Entity:id`; `previous` its last snapshot).
pub fn evaluate_record(
    cx: &FlowContext<'_>,
    source: &str,
    record: &Json,
    previous: Option<&Json>,
) -> Result<Outcome, EvalError> {
    evaluate_event(cx, source, record, previous, false)
}

/// Evaluates `flow` for a record that is gone from its source: only an `on X deleted`
/// trigger fires, and the rules read the record as it was last seen.
pub fn evaluate_deletion(
    cx: &FlowContext<'_>,
    source: &str,
    last_seen: &Json,
) -> Result<Outcome, EvalError> {
    evaluate_event(cx, source, last_seen, Some(last_seen), true)
}

fn evaluate_event(
    cx: &FlowContext<'_>,
    source: &str,
    record: &Json,
    previous: Option<&Json>,
    gone: bool,
) -> Result<Outcome, EvalError> {
    let mut run = Evaluation {
        cx,
        source,
        record,
        previous,
        gone,
        vars: Vec::new(),
        documents: Vec::new(),
        shared: Vec::new(),
        shares: None,
        splits: 0,
    };
    if !run.triggered()? {
        return Ok(Outcome::NotTriggered);
    }
    if let Some(reason) = run.before_since()? {
        return Ok(Outcome::Skipped(reason));
    }
    match run.steps(&cx.flow.steps, "", &mut None)? {
        Control::Continue => Ok(Outcome::Documents(run.finish())),
        Control::Stop(reason) => Ok(Outcome::Waiting(reason)),
    }
}

/// Whether the remaining steps run.
enum Control {
    Continue,
    Stop(String),
}

/// A document body being filled: the payload and, inside `line { … }`, the current line.
#[derive(Clone)]
struct Body<'a> {
    payload: Map<String, Json>,
    entity: Option<&'a Entity>,
    lines_field: Option<&'a str>,
    current_line: Option<Map<String, Json>>,
}

struct Evaluation<'a, 'c> {
    cx: &'a FlowContext<'c>,
    source: &'a str,
    record: &'a Json,
    previous: Option<&'a Json>,
    /// The record is gone from its source (see [`evaluate_deletion`]).
    gone: bool,
    vars: Vec<(String, Binding<'a>)>,
    documents: Vec<Document>,
    /// Payloads of documents a `let` bound ([`Binding::Written`]) by their index in
    /// `documents`, whose own payload is left empty until [`Evaluation::finish`].
    shared: Vec<(usize, Rc<Map<String, Json>>)>,
    /// What `part.share(…)` answers in the innermost split being run.
    shares: Option<PartShares>,
    /// Splits started so far (each split's parts carry its number).
    splits: u32,
}

impl<'a> Evaluation<'a, '_> {
    fn env<'s>(&'s self, subject: Option<&'s Json>) -> Env<'s> {
        Env {
            record: Some(self.record),
            sides: &[],
            subject,
            vars: &self.vars,
            settings: &self.cx.plan.settings,
            tables: &self.cx.plan.tables,
            today: self.cx.today,
            collections: self.cx.collections,
            previous: self.previous,
            shares: self.shares.as_ref(),
        }
    }

    /// The documents, with the payloads `let` bindings shared given back (every binding has
    /// ended by now, so they are not copied).
    fn finish(mut self) -> Vec<Document> {
        self.vars.clear();
        for (index, payload) in self.shared.drain(..) {
            self.documents[index].payload =
                Rc::try_unwrap(payload).unwrap_or_else(|shared| (*shared).clone());
        }
        self.documents
    }

    fn eval(&self, expr: &PlanExpr) -> Result<Value, EvalError> {
        evaluate(expr, &self.env(None))
    }

    /// The JSON a document field gets: the value turned into JSON without copying a binding.
    fn json(&self, expr: &PlanExpr) -> Result<Json, EvalError> {
        // JSON bound where it lies goes into the document without becoming a value first; a
        // written document as its reference.
        if let PlanExpr::Var { name, path } = expr {
            match self.vars.iter().rev().find(|(bound, _)| bound == name) {
                Some((_, Binding::Json(json))) => {
                    if let Some(reached) = json_path(json, path) {
                        return json_payload(reached);
                    }
                }
                Some((_, Binding::Written { key, .. })) if path.is_empty() => {
                    let mut reference = Map::new();
                    reference.insert(REF.into(), Json::String(key.clone()));
                    return Ok(Json::Object(reference));
                }
                _ => {}
            }
        }
        if let PlanExpr::Record { path } = expr {
            if let Some(reached) = json_path(self.record, path) {
                return json_payload(reached);
            }
        }
        let value = evaluate_borrowed(expr, &self.env(None))?;
        Ok(to_json(&value))
    }

    /// `on X when …`: without a trigger a flow fires once per new record.
    fn triggered(&self) -> Result<bool, EvalError> {
        let Some(trigger) = &self.cx.flow.trigger else {
            return Ok(self.previous.is_none() && !self.gone);
        };
        if self.gone != (trigger.event == "deleted") {
            return Ok(false);
        }
        let condition = |run: &Self| match &trigger.condition {
            Some(c) => truthy(c, &run.env(Some(run.record))),
            None => Ok(true),
        };
        match trigger.event.as_str() {
            "created" => Ok(self.previous.is_none() && condition(self)?),
            "any" => Ok(condition(self)?),
            "deleted" => condition(self),
            // Manual triggers fire from `ledgerlink push`.
            "requested" => Ok(false),
            _ => condition(self),
        }
    }

    /// `since`: the record's date (the profile's `since` or `updated_at` field) before it.
    fn before_since(&self) -> Result<Option<String>, EvalError> {
        let Some(since) = &self.cx.flow.since else {
            return Ok(None);
        };
        let Value::Date(from) = self.eval(since)? else {
            return Err(EvalError::new(
                EvalErrorKind::TypeMismatch,
                "`since` is not a date",
            ));
        };
        let Some(source) = &self.cx.flow.source else {
            return Ok(None);
        };
        let Some(field) = self
            .cx
            .entity(source)
            .and_then(|e| e.since.clone().or_else(|| e.updated_at.clone()))
        else {
            return Ok(None);
        };
        let Some(text) = self.record.get(&field).and_then(Json::as_str) else {
            return Ok(None);
        };
        let Ok(date) = Value::parse_date(text.get(..10).unwrap_or(text)) else {
            return Ok(None);
        };
        Ok((date < from).then(|| format!("{field} {date} is before `since` {from}")))
    }

    fn steps(
        &mut self,
        steps: &[Step],
        path: &str,
        body: &mut Option<Body<'a>>,
    ) -> Result<Control, EvalError> {
        let depth = self.vars.len();
        let mut here = String::with_capacity(path.len() + 4);
        for (index, step) in steps.iter().enumerate() {
            here.clear();
            here.push_str(path);
            let _ = write!(here, "/{index}");
            if let Control::Stop(reason) = self.step(step, &here, body)? {
                self.vars.truncate(depth);
                return Ok(Control::Stop(reason));
            }
        }
        // `let` bindings end with their block; documents stay.
        self.vars.truncate(depth);
        Ok(Control::Continue)
    }

    fn step(
        &mut self,
        step: &Step,
        path: &str,
        body: &mut Option<Body<'a>>,
    ) -> Result<Control, EvalError> {
        match step {
            Step::Let {
                name,
                value: Some(expr),
                ..
            } => {
                let bound = bind(expr, &self.env(None), self.cx.collections)?;
                self.vars.push((name.clone(), bound));
            }
            Step::Let {
                name,
                write: Some(write),
                ..
            } => {
                let bound = self.write(write, path, true)?;
                self.vars.push((name.clone(), bound));
            }
            Step::Let { .. } => {}
            Step::Write { .. } => {
                self.write(step, path, false)?;
            }
            Step::Split {
                amount,
                plan,
                part,
                body: steps,
            } => {
                return self.split(amount, plan, part, steps, path, body);
            }
            Step::When {
                condition,
                then,
                otherwise,
            } => {
                let branch = if truthy(condition, &self.env(None))? {
                    then
                } else {
                    otherwise
                };
                return self.steps(branch, path, body);
            }
            Step::Require { condition, message } => {
                if !truthy(condition, &self.env(None))? {
                    return Ok(Control::Stop(self.eval(message)?.to_plain_text()));
                }
            }
            Step::Set { field, value } => {
                let json = self.json(value)?;
                if let Some(body) = body {
                    match &mut body.current_line {
                        Some(line) => line.insert(field.clone(), json),
                        None => body.payload.insert(field.clone(), json),
                    };
                }
            }
            Step::Attach { value } => {
                let json = self.json(value)?;
                if let Some(body) = body {
                    push(&mut body.payload, super::post::ATTACHMENTS, json);
                }
            }
            Step::Settle { value } => {
                let json = self.json(value)?;
                if let Some(body) = body {
                    body.payload.insert(super::settle::SETTLE.into(), json);
                }
            }
            Step::Line { body: steps } => return self.line(steps, path, body),
            Step::LinesFor {
                item,
                list,
                body: steps,
            } => {
                let items = self.loop_items(list)?;
                for (i, value) in items.into_iter().enumerate() {
                    self.vars.push((item.clone(), value));
                    let control = self.line(steps, &format!("{path}/{i}"), body);
                    self.vars.pop();
                    if let Control::Stop(reason) = control? {
                        return Ok(Control::Stop(reason));
                    }
                }
            }
            Step::LinesGroup {
                list,
                key,
                group,
                body: steps,
            } => {
                for (i, value) in group_by(&self.eval(list)?, key)?.into_iter().enumerate() {
                    self.vars.push((group.clone(), value.into()));
                    let control = self.line(steps, &format!("{path}/{i}"), body);
                    self.vars.pop();
                    if let Control::Stop(reason) = control? {
                        return Ok(Control::Stop(reason));
                    }
                }
            }
        }
        Ok(Control::Continue)
    }

    /// The items `lines for` walks. A list read straight from the record (`shop.Order.line_items`)
    /// is bound item by item as JSON, read only where the rules read it; anything else is
    /// evaluated. Either way a missing list is no items and a single value is one item.
    fn loop_items(&self, list: &PlanExpr) -> Result<Vec<Binding<'a>>, EvalError> {
        if let PlanExpr::Record { path } = list {
            if let Some(json) = json_path(self.record, path) {
                return Ok(match json {
                    Json::Array(items) => items.iter().map(Binding::Json).collect(),
                    Json::Null => Vec::new(),
                    other => vec![Binding::Json(other)],
                });
            }
        }
        Ok(list_of(self.eval(list)?)
            .into_iter()
            .map(Binding::Value)
            .collect())
    }

    /// `split amount by plan as part { … }`: the parts by largest remainder, and every
    /// `part.share(x)` by controlled rounding over the parts × the amounts the body shares
    /// (money.md), with each part's amount the sum of its row when those amounts make up
    /// the total (so a part's lines sum to `part.amount`). The first part runs as a probe
    /// that learns the amounts; when it shares none, its documents stand as they are.
    fn split(
        &mut self,
        amount: &PlanExpr,
        plan: &PlanExpr,
        part: &str,
        steps: &[Step],
        path: &str,
        body: &mut Option<Body<'a>>,
    ) -> Result<Control, EvalError> {
        // Amounts are in a currency with two decimals (øre, cents); see money.md.
        const SCALE: u32 = 2;
        let split_error = |e: SplitError| EvalError::new(EvalErrorKind::BadArgument, e.to_string());
        let total = number(&self.eval(amount)?, "the amount of a split")?;
        let (shares, labels) = plan_shares(&self.eval(plan)?)?;
        let mut amounts = split_amount(total, &shares, SCALE).map_err(split_error)?;
        self.splits += 1;
        let split = self.splits;
        let part_of = |i: usize, amount: Decimal| {
            part_value(amount, labels[i].clone(), i + 1, shares[i], SCALE, split)
        };

        let outer = self.shares.replace(PartShares::probe(split));
        let (documents, shared) = (self.documents.len(), self.shared.len());
        let body_before = body.clone();
        let probed = self.part(part, part_of(0, amounts[0]), steps, path, 1, body)?;
        let groups = self
            .shares
            .take()
            .map(PartShares::recorded)
            .unwrap_or_default();
        let (table, first) = if groups.is_empty() {
            if let Control::Stop(reason) = probed {
                self.shares = outer;
                return Ok(Control::Stop(reason));
            }
            (None, 1)
        } else {
            self.documents.truncate(documents);
            self.shared.truncate(shared);
            *body = body_before;
            let table = split_table(&groups, &shares, SCALE).map_err(split_error)?;
            let sum = |cells: &[Decimal]| {
                cells
                    .iter()
                    .try_fold(Decimal::ZERO, |sum, cell| sum.checked_add(*cell))
            };
            if sum(&groups) == Some(total) {
                if let Some(rows) = table.iter().map(|row| sum(row)).collect::<Option<Vec<_>>>() {
                    amounts = rows;
                }
            }
            (Some(table), 0)
        };
        for (i, amount) in amounts.iter().enumerate().skip(first) {
            self.shares = table
                .as_ref()
                .map(|table| PartShares::cells(split, &groups, &table[i]));
            let control = self.part(part, part_of(i, *amount), steps, path, i + 1, body)?;
            if let Control::Stop(reason) = control {
                self.shares = outer;
                return Ok(Control::Stop(reason));
            }
        }
        self.shares = outer;
        Ok(Control::Continue)
    }

    /// Runs a split's body for its part number `number` (from 1).
    fn part(
        &mut self,
        name: &str,
        value: Value,
        steps: &[Step],
        path: &str,
        number: usize,
        body: &mut Option<Body<'a>>,
    ) -> Result<Control, EvalError> {
        self.vars.push((name.to_string(), value.into()));
        let control = self.steps(steps, &format!("{path}/part{number}"), body);
        self.vars.pop();
        control
    }

    /// One line of the document in `body`: its fields go into the entity's lines list.
    fn line(
        &mut self,
        steps: &[Step],
        path: &str,
        body: &mut Option<Body<'a>>,
    ) -> Result<Control, EvalError> {
        let Some(current) = body.as_mut() else {
            return Ok(Control::Continue);
        };
        let outer = current.current_line.replace(Map::new());
        let control = self.steps(steps, path, body)?;
        if let Some(current) = body.as_mut() {
            let line = std::mem::replace(&mut current.current_line, outer).unwrap_or_default();
            let field = current.lines_field.unwrap_or("lines");
            push(&mut current.payload, field, Json::Object(line));
        }
        Ok(control)
    }

    /// A document write; with `bind`, returns what a `let` binds: the document's payload,
    /// shared with the document, and key ([`Binding::Written`]); else `null`.
    fn write(&mut self, step: &Step, path: &str, bind: bool) -> Result<Binding<'a>, EvalError> {
        let Step::Write {
            kind,
            target,
            keys,
            credit_for,
            destination,
            body: steps,
        } = step
        else {
            return Ok(Binding::Value(Value::Null));
        };
        let entity = self.cx.entity(target);
        let lines_field = entity
            .and_then(crate::check::lines_field)
            .map(|(name, _)| name);
        let mut body = Some(Body {
            payload: Map::new(),
            entity,
            lines_field,
            current_line: None,
        });
        let key_values: Vec<(String, Json)> = keys
            .iter()
            .map(|(field, value)| Ok((field.clone(), self.json(value)?)))
            .collect::<Result<_, EvalError>>()?;
        if let Some(body) = body.as_mut() {
            for (field, value) in &key_values {
                body.payload.insert(field.clone(), value.clone());
            }
        }
        if let Control::Stop(reason) = self.steps(steps, path, &mut body)? {
            return Err(EvalError::new(EvalErrorKind::BadArgument, reason));
        }
        let Body {
            mut payload,
            entity,
            ..
        } = body.unwrap_or(Body {
            payload: Map::new(),
            entity: None,
            lines_field: None,
            current_line: None,
        });
        if let Some(credited) = credit_for {
            let credited = self.eval(credited)?;
            payload.insert(
                "$credit_for".into(),
                serde_json::json!({ "source": self.source, "entity": target.entity, "record": to_json(&credited) }),
            );
        }
        let destination = match destination {
            Some(d) => Some(self.eval(d)?.to_plain_text()),
            None => None,
        };
        if let Some(d) = &destination {
            payload.insert(super::post::DESTINATION.into(), Json::String(d.clone()));
        }
        // Every write kind may create its record (upsert and ensure when it is missing); a
        // credit takes what it does not set from the document it credits, at delivery.
        if let Some(entity) = entity {
            let complete = *kind != WriteKind::Credit;
            super::validate::check_document(entity, &payload, complete).map_err(|problem| {
                EvalError::new(
                    EvalErrorKind::InvalidDocument,
                    format!("{}.{}: {problem}", target.system, target.entity),
                )
            })?;
        }
        let lookup = match key_values.as_slice() {
            [] => entity.and_then(|e| external_lookup(e, &payload)),
            [(field, value)] => Some(serde_json::json!({ "field": field, "value": value })),
            many => Some(
                serde_json::json!({ "all": many.iter().map(|(f, v)| serde_json::json!({ "field": f, "value": v })).collect::<Vec<_>>() }),
            ),
        };
        let key = Document::key(self.cx.project, &self.cx.flow.name, self.source, path);
        let mut depends_on = Vec::new();
        object_references(&payload, &mut depends_on);
        depends_on.sort();
        depends_on.dedup();
        let (payload, bound) = if bind {
            let shared = Rc::new(payload);
            self.shared.push((self.documents.len(), Rc::clone(&shared)));
            let bound = Binding::Written {
                key: key.clone(),
                payload: shared,
            };
            (Map::new(), bound)
        } else {
            (payload, Binding::Value(Value::Null))
        };
        self.documents.push(Document {
            key,
            kind: *kind,
            target: target.clone(),
            payload,
            lookup,
            depends_on,
            destination,
        });
        Ok(bound)
    }
}

fn push(payload: &mut Map<String, Json>, field: &str, value: Json) {
    match payload.get_mut(field) {
        Some(Json::Array(items)) => items.push(value),
        _ => {
            payload.insert(field.to_string(), Json::Array(vec![value]));
        }
    }
}

fn number(value: &Value, what: &str) -> Result<Decimal, EvalError> {
    match value {
        Value::Number(n) => Ok(*n),
        Value::Text(t) => t.trim().parse().map_err(|_| {
            EvalError::new(
                EvalErrorKind::TypeMismatch,
                format!("{what} `{t}` is not a number"),
            )
        }),
        other => Err(EvalError::new(
            EvalErrorKind::TypeMismatch,
            format!("{what} is {}, not a number", other.type_name()),
        )),
    }
}

/// A payment plan: `[20%, 80%]` or `[{ share: 20%, label: … }]` → shares and labels.
fn plan_shares(plan: &Value) -> Result<(Vec<Decimal>, Vec<Value>), EvalError> {
    let Value::List(items) = plan else {
        return Err(EvalError::new(
            EvalErrorKind::TypeMismatch,
            "a payment plan is a list of shares",
        ));
    };
    let mut shares = Vec::new();
    let mut labels = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let (share, label) = match item {
            Value::Record(fields) => (
                fields.get("share").cloned().unwrap_or(Value::Null),
                fields.get("label").cloned(),
            ),
            other => (other.clone(), None),
        };
        let share = match share {
            Value::Percent(p) => p,
            Value::Text(t) => t.trim().trim_end_matches('%').trim().parse().map_err(|_| {
                EvalError::new(
                    EvalErrorKind::TypeMismatch,
                    format!("share `{t}` of the payment plan is not a percentage"),
                )
            })?,
            Value::Number(n) => n,
            other => {
                return Err(EvalError::new(
                    EvalErrorKind::TypeMismatch,
                    format!(
                        "share {} of the payment plan is {}",
                        i + 1,
                        other.type_name()
                    ),
                ))
            }
        };
        shares.push(share);
        labels.push(label.unwrap_or_else(|| Value::Text(format!("{}/{}", i + 1, items.len()))));
    }
    Ok((shares, labels))
}

fn list_of(value: Value) -> Vec<Value> {
    match value {
        Value::List(items) => items,
        Value::Null => Vec::new(),
        other => vec![other],
    }
}

/// The write kinds that make a new record every time they are sent.
pub fn creates(kind: WriteKind) -> bool {
    matches!(
        kind,
        WriteKind::Create | WriteKind::Post | WriteKind::Credit
    )
}

#[cfg(test)]
mod tests {
    use indexmap::IndexMap;
    use serde_json::json;

    use super::*;
    use crate::check::testing::{project, PROJECT};

    /// The sales a quote splits into: each sale's part amount (in its reference) and its
    /// line prices by group.
    fn sales(quote: Json, payment_plan: &str) -> Vec<(String, Vec<Decimal>)> {
        let rules = "flow quotes {
          on winner.Quote
          split winner.Quote.Total by settings.payment_plan as part {
            create acc.Sale {
              party = 1
              reference = \"{part.amount}\"
              lines group winner.Quote.Lines by ProductGroup as g {
                type = \"line\"
                product = 9000
                quantity = 1
                unit_price = part.share(sum(g.Amount))
              }
            }
          }
        }";
        let yaml = PROJECT.replace(
            "payment_plan: [ { share: 20%, label: Forskudd }, { share: 80%, label: Ved levering } ]",
            payment_plan,
        );
        let mut diagnostics = Vec::new();
        let project = project(&yaml, rules, &mut diagnostics);
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        let plan = crate::plan::compile(&project);
        let connectors: HashMap<String, String> = project
            .config
            .as_ref()
            .expect("config")
            .systems
            .iter()
            .map(|(alias, s)| (alias.clone(), s.connector.clone()))
            .collect();
        let collections: IndexMap<(String, String), Vec<Json>> = IndexMap::new();
        let cx = FlowContext {
            project: "test",
            plan: &plan,
            flow: &plan.flows[0],
            profiles: &project.profiles,
            connectors: &connectors,
            today: NaiveDate::from_ymd_opt(2026, 3, 10).expect("date"),
            collections: &collections,
        };
        let documents = match evaluate_record(&cx, "winner.Quote:1", &quote, None) {
            Ok(Outcome::Documents(documents)) => documents,
            other => panic!("{other:?}"),
        };
        documents
            .iter()
            .map(|d| {
                let prices = d.payload["lines"]
                    .as_array()
                    .expect("lines")
                    .iter()
                    .map(|l| l["unit_price"].to_string().parse().expect("price"))
                    .collect();
                (
                    d.payload["reference"].as_str().expect("ref").to_string(),
                    prices,
                )
            })
            .collect()
    }

    fn quote(groups: &[(&str, &str)]) -> Json {
        let lines: Vec<Json> = groups
            .iter()
            .map(|(group, amount)| json!({ "ProductGroup": group, "Amount": amount }))
            .collect();
        let total: Decimal = groups
            .iter()
            .map(|(_, a)| a.parse::<Decimal>().expect("amount"))
            .sum();
        json!({ "Total": total.to_string(), "Lines": lines })
    }

    fn d(text: &str) -> Decimal {
        text.parse().expect("decimal")
    }

    #[test]
    fn part_shares_reconcile_parts_and_groups() {
        let sales = sales(
            quote(&[("A", "49554.07"), ("B", "18990.00"), ("C", "-3333.33")]),
            "payment_plan: [ { share: 20%, label: Forskudd }, { share: 80%, label: Ved levering } ]",
        );
        assert_eq!(sales.len(), 2);
        let group_sums: Vec<Decimal> = (0..3).map(|g| sales.iter().map(|s| s.1[g]).sum()).collect();
        assert_eq!(group_sums, [d("49554.07"), d("18990.00"), d("-3333.33")]);
        for (amount, prices) in &sales {
            assert_eq!(prices.iter().sum::<Decimal>(), d(amount), "{sales:?}");
        }
        // The parts are the plain split of 65 210.74 by 20 %/80 %.
        assert_eq!(sales[0].0, "13042.15");
        assert_eq!(sales[1].0, "52168.59");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 150, ..Default::default() })]

        /// Through the flow (probe, then every part with its row): each group's shares sum to
        /// the group, each sale's lines to its part amount, the parts to the total, and every
        /// line is within one øre of its exact share — equal and negative groups included.
        #[test]
        fn split_lines_reconcile_both_ways(
            cents in proptest::collection::vec(
                proptest::prop_oneof![-5_000i64..20_000, proptest::strategy::Just(1i64), proptest::strategy::Just(-1i64)],
                1..=6,
            ),
            equal in proptest::bool::ANY,
            plan in 0usize..4,
        ) {
            let mut cents = cents;
            if equal {
                let first = cents[0];
                cents.iter_mut().for_each(|c| *c = first);
            }
            let (shares, yaml): (Vec<Decimal>, &str) = match plan {
                0 => (vec![d("20"), d("80")], "payment_plan: [ { share: 20% }, { share: 80% } ]"),
                1 => (vec![d("33.33"), d("33.33"), d("33.34")], "payment_plan: [ { share: 33.33% }, { share: 33.33% }, { share: 33.34% } ]"),
                2 => (vec![d("10"), d("20"), d("30"), d("40")], "payment_plan: [ { share: 10% }, { share: 20% }, { share: 30% }, { share: 40% } ]"),
                _ => (vec![d("50"), d("50")], "payment_plan: [ { share: 50% }, { share: 50% } ]"),
            };
            let amounts: Vec<Decimal> = cents.iter().map(|c| Decimal::new(*c, 2)).collect();
            let names: Vec<String> = (0..amounts.len()).map(|i| format!("G{i}")).collect();
            let texts: Vec<String> = amounts.iter().map(Decimal::to_string).collect();
            let groups: Vec<(&str, &str)> = names.iter().map(String::as_str).zip(texts.iter().map(String::as_str)).collect();
            let sales = sales(quote(&groups), yaml);
            proptest::prop_assert_eq!(sales.len(), shares.len());
            let total: Decimal = amounts.iter().sum();
            let parts: Decimal = sales.iter().map(|(amount, _)| d(amount)).sum();
            proptest::prop_assert_eq!(parts, total);
            for (p, (amount, prices)) in sales.iter().enumerate() {
                proptest::prop_assert_eq!(prices.iter().sum::<Decimal>(), d(amount));
                for (g, price) in prices.iter().enumerate() {
                    let exact = amounts[g] * shares[p] / Decimal::ONE_HUNDRED;
                    proptest::prop_assert!((*price - exact).abs() < d("0.01"), "{price} vs {exact}");
                }
            }
            for (g, amount) in amounts.iter().enumerate() {
                let column: Decimal = sales.iter().map(|(_, prices)| prices[g]).sum();
                proptest::prop_assert_eq!(column, *amount);
            }
        }
    }

    #[test]
    fn equal_groups_keep_their_own_cells() {
        // Two groups of one øre in halves: each part takes one of them, not the same one.
        let sales = sales(
            quote(&[("A", "0.01"), ("B", "0.01"), ("C", "0.01")]),
            "payment_plan: [ { share: 50% }, { share: 50% } ]",
        );
        let group_sums: Vec<Decimal> = (0..3).map(|g| sales.iter().map(|s| s.1[g]).sum()).collect();
        assert_eq!(group_sums, [d("0.01"), d("0.01"), d("0.01")], "{sales:?}");
        for (amount, prices) in &sales {
            assert_eq!(prices.iter().sum::<Decimal>(), d(amount), "{sales:?}");
        }
        assert_eq!(sales[0].0, "0.02");
    }
}
