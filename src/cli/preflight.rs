//! `ledgerlink preflight PROJECT [--format human|json]`: checks the target systems before
//! go-live, each with a verdict.
//!
//! - **credentials**: one cheap authenticated call per system (as `check-connection`).
//! - **references**: every constant value the rules write into a field that the profile
//!   declares `type: reference` (with the referenced `entity`) — a literal, a setting, the
//!   values of a table — is looked up in the target: the layout, payment terms, accounts,
//!   products and groups the rules name must exist there. Read calls only.
//! - **webhooks**: a system read by a flow whose profile declares webhooks cannot be verified
//!   automatically (no profile declares an API that lists registrations); the set-up steps are
//!   printed instead.
//!
//! Verdicts: `ok`; `missing` (what, and where in the rules); `failed` (the call failed or
//! could not be made: could not check, with why); `manual` (cannot verify automatically).
//! Exit 0 when nothing is missing or failed, 1 otherwise, 2 on usage errors.

use std::{collections::HashMap, path::PathBuf};

use serde::Serialize;
use serde_json::Value as Json;

use super::{
    output::{self, Paint},
    Exit, Format,
};
use crate::{
    connector::{
        client::Client,
        profile::{FieldType, Fields, Operation, SignatureScheme},
        Entity,
    },
    plan::{self, EntityRef, Plan, PlanExpr, Step},
    project::Project,
    runtime,
    syntax::ast::{BinaryOp, Literal},
};

/// Arguments of `preflight`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The project folder.
    pub path: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// A check's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Fine.
    Ok,
    /// A referenced record does not exist in the target.
    Missing,
    /// The check failed or could not be made.
    Failed,
    /// Cannot be verified automatically: a person has to.
    Manual,
}

/// One check and its verdict.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// `credentials`, `reference` or `webhooks`.
    pub kind: &'static str,
    /// The system alias.
    pub system: String,
    /// What was checked (`acc.Layout 19`).
    pub subject: String,
    /// The verdict.
    pub verdict: Verdict,
    /// The answer, or why it could not be checked.
    pub detail: String,
    /// Where the rules use it (references), or the set-up steps (webhooks).
    pub notes: Vec<String>,
}

/// Runs every check and prints the verdicts.
pub fn run(args: Args) -> Exit {
    let (project, _warnings) = match super::load_checked(&args.path, "no preflight") {
        Ok(checked) => checked,
        Err(exit) => return exit,
    };
    let checks = match super::block_on(checks(&project)) {
        Ok(checks) => checks,
        Err(err) => {
            output::error(err);
            return Exit::Usage;
        }
    };
    print(&checks, args.format);
    if checks
        .iter()
        .any(|c| matches!(c.verdict, Verdict::Missing | Verdict::Failed))
    {
        Exit::Findings
    } else {
        Exit::Clean
    }
}

async fn checks(project: &Project) -> Result<Vec<Check>, runtime::RuntimeError> {
    let plan = plan::compile(project);
    let mut out = Vec::new();
    let clients = match runtime::clients(project, None) {
        Ok(clients) => clients,
        Err(err) => {
            out.push(Check {
                kind: "credentials",
                system: String::new(),
                subject: "systems".into(),
                verdict: Verdict::Failed,
                detail: err.to_string(),
                notes: Vec::new(),
            });
            return Ok(out);
        }
    };
    let mut aliases: Vec<&String> = clients.keys().collect();
    aliases.sort();
    for alias in &aliases {
        let (verdict, detail) = match clients[*alias].check().await {
            Ok(message) => (Verdict::Ok, message),
            Err(err) => (Verdict::Failed, err.to_string()),
        };
        out.push(Check {
            kind: "credentials",
            system: alias.to_string(),
            subject: format!("system {alias}"),
            verdict,
            detail,
            notes: Vec::new(),
        });
    }
    for reference in references(project, &plan) {
        out.push(check_reference(&clients, reference).await);
    }
    out.extend(webhooks(project, &plan));
    Ok(out)
}

/// A constant value the rules write into a reference field, and where.
struct Reference {
    system: String,
    entity: String,
    value: String,
    places: Vec<String>,
}

/// Every constant value written into a reference field, one entry per referenced record.
fn references(project: &Project, plan: &Plan) -> Vec<Reference> {
    let connectors: HashMap<&str, &str> = plan
        .systems
        .iter()
        .map(|s| (s.alias.as_str(), s.connector.as_str()))
        .collect();
    let entity = |target: &EntityRef| -> Option<&Entity> {
        let connector = connectors.get(target.system.as_str())?;
        project
            .profiles
            .get(connector)?
            .entities
            .get(&target.entity)
    };
    let mut found: Vec<Reference> = Vec::new();
    let mut add = |system: &str, entity: &str, value: String, place: String| match found
        .iter_mut()
        .find(|r| r.system == system && r.entity == entity && r.value == value)
    {
        Some(existing) => {
            if !existing.places.contains(&place) {
                existing.places.push(place);
            }
        }
        None => found.push(Reference {
            system: system.to_string(),
            entity: entity.to_string(),
            value,
            places: vec![place],
        }),
    };
    for flow in &plan.flows {
        let mut writes = Vec::new();
        collect_writes(&flow.steps, &mut writes);
        for (kind, target, body) in writes {
            let Some(spec) = entity(target) else { continue };
            let lines = crate::check::lines_field(spec).map(|(_, f)| &f.fields);
            let mut sets = Vec::new();
            collect_sets(body, false, &mut sets);
            for (in_line, field, value) in sets {
                let fields = if in_line {
                    match lines {
                        Some(fields) => fields,
                        None => continue,
                    }
                } else {
                    &spec.fields
                };
                let here = format!(
                    "flow {}: {} {}.{}, {}{field}",
                    flow.name,
                    kind,
                    target.system,
                    target.entity,
                    if in_line { "line field " } else { "field " }
                );
                referenced(
                    plan,
                    fields,
                    field,
                    value,
                    &here,
                    &mut |entity, value, origin| {
                        add(&target.system, entity, value, format!("{here} = {origin}"))
                    },
                );
            }
        }
    }
    for sync in &plan.syncs {
        for mapping in &sync.fields {
            for (side, to) in [(&sync.right, &mapping.right), (&sync.left, &mapping.left)] {
                let PlanExpr::Side { system, path } = to else {
                    continue;
                };
                let (Some(spec), [field]) = (entity(side), path.as_slice()) else {
                    continue;
                };
                if *system != side.system {
                    continue;
                }
                let from = if std::ptr::eq(to, &mapping.right) {
                    &mapping.left
                } else {
                    &mapping.right
                };
                let here = format!("sync {}: {}.{field}", sync.name, system);
                referenced(
                    plan,
                    &spec.fields,
                    field,
                    from,
                    &here,
                    &mut |entity, value, origin| {
                        add(system, entity, value, format!("{here} ← {origin}"))
                    },
                );
            }
        }
    }
    found
}

/// The write steps of a flow: kind, target and body.
fn collect_writes<'a>(steps: &'a [Step], out: &mut Vec<(&'static str, &'a EntityRef, &'a [Step])>) {
    for step in steps {
        match step {
            Step::Write {
                kind, target, body, ..
            } => {
                out.push((kind.keyword(), target, body));
                collect_writes(body, out);
            }
            Step::Let {
                write: Some(write), ..
            } => collect_writes(std::slice::from_ref(write.as_ref()), out),
            Step::Split { body, .. }
            | Step::Line { body }
            | Step::LinesFor { body, .. }
            | Step::LinesGroup { body, .. } => collect_writes(body, out),
            Step::When {
                then, otherwise, ..
            } => {
                collect_writes(then, out);
                collect_writes(otherwise, out);
            }
            _ => {}
        }
    }
}

/// The field assignments of one document body (not of documents nested in it), and whether
/// each is inside a line.
fn collect_sets<'a>(
    steps: &'a [Step],
    in_line: bool,
    out: &mut Vec<(bool, &'a str, &'a PlanExpr)>,
) {
    for step in steps {
        match step {
            Step::Set { field, value } => out.push((in_line, field, value)),
            Step::Line { body } | Step::LinesFor { body, .. } | Step::LinesGroup { body, .. } => {
                collect_sets(body, true, out)
            }
            Step::Split { body, .. } => collect_sets(body, in_line, out),
            Step::When {
                then, otherwise, ..
            } => {
                collect_sets(then, in_line, out);
                collect_sets(otherwise, in_line, out);
            }
            _ => {}
        }
    }
}

/// Calls `found(entity, value, origin)` for each constant that `value` may put into `field`
/// when the profile declares it a reference (records: their reference sub-fields).
fn referenced(
    plan: &Plan,
    fields: &Fields,
    field: &str,
    value: &PlanExpr,
    here: &str,
    found: &mut dyn FnMut(&str, String, String),
) {
    let Some(spec) = fields.get(field) else {
        return;
    };
    match (spec.r#type, &spec.entity, value) {
        (FieldType::Reference, Some(entity), _) => {
            for (constant, origin) in constants(plan, value) {
                found(entity, constant, origin);
            }
        }
        (FieldType::Record, _, PlanExpr::RecordLiteral { fields: items }) => {
            for (name, item) in items {
                referenced(
                    plan,
                    &spec.fields,
                    name,
                    item,
                    &format!("{here}.{name}"),
                    found,
                );
            }
        }
        _ => {}
    }
}

/// The constant values an expression can take, as id text, with where each comes from:
/// literals, settings, table values, both branches of `if`, the fallback of `??`.
fn constants(plan: &Plan, expr: &PlanExpr) -> Vec<(String, String)> {
    match expr {
        PlanExpr::Literal { value } => literal(value)
            .map(|v| (v.clone(), format!("literal {v}")))
            .into_iter()
            .collect(),
        PlanExpr::Setting { key, path } => {
            let mut value = plan.settings.get(key);
            for part in path {
                value = value.and_then(|v| v.get(part));
            }
            let name = std::iter::once(key.as_str())
                .chain(path.iter().map(String::as_str))
                .collect::<Vec<_>>()
                .join(".");
            value
                .and_then(scalar)
                .map(|v| (v.clone(), format!("setting {name} ({v}, ledgerlink.yaml)")))
                .into_iter()
                .collect()
        }
        PlanExpr::Lookup { table, .. } => {
            let Some(table) = plan.tables.iter().find(|t| t.name == *table) else {
                return Vec::new();
            };
            let file = table
                .source
                .as_ref()
                .map(|s| format!(", {s}"))
                .unwrap_or_default();
            let mut out = Vec::new();
            for (key, value) in &table.rows {
                let key = literal(key).unwrap_or_else(|| "_".into());
                for (v, _) in constants(plan, value) {
                    out.push((
                        v.clone(),
                        format!("table {}[{key}] ({v}{file})", table.name),
                    ));
                }
            }
            if let Some(default) = &table.default {
                for (v, _) in constants(plan, default) {
                    out.push((
                        v.clone(),
                        format!("table {} default ({v}{file})", table.name),
                    ));
                }
            }
            out
        }
        PlanExpr::If {
            then, otherwise, ..
        } => {
            let mut out = constants(plan, then);
            out.extend(constants(plan, otherwise));
            out
        }
        PlanExpr::Binary {
            op: BinaryOp::Coalesce,
            left,
            right,
        } => {
            let mut out = constants(plan, left);
            out.extend(constants(plan, right));
            out
        }
        _ => Vec::new(),
    }
}

fn literal(value: &Literal) -> Option<String> {
    match value {
        Literal::Text(t) => Some(t.clone()),
        Literal::Number(n) => Some(n.normalize().to_string()),
        _ => None,
    }
}

fn scalar(value: &Json) -> Option<String> {
    match value {
        Json::String(s) => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Looks a referenced record up by its id with read calls only: get, else search by the id
/// field, else the whole list.
async fn check_reference(clients: &HashMap<String, Client>, reference: Reference) -> Check {
    let subject = format!(
        "{}.{} {}",
        reference.system, reference.entity, reference.value
    );
    let mut check = Check {
        kind: "reference",
        system: reference.system.clone(),
        subject,
        verdict: Verdict::Failed,
        detail: String::new(),
        notes: reference.places,
    };
    let Some(client) = clients.get(&reference.system) else {
        check.detail = format!(
            "could not check: no system `{}` in the project",
            reference.system
        );
        return check;
    };
    let Some(spec) = client.profile().entities.get(&reference.entity) else {
        check.detail = format!(
            "could not check: connector `{}` has no entity `{}`",
            client.profile().name,
            reference.entity
        );
        return check;
    };
    let offers = |op: Operation| spec.operations.is_empty() || spec.operations.contains(&op);
    let id = Json::String(reference.value.clone());
    let found = if offers(Operation::Get) {
        client.get(&reference.entity, &reference.value).await
    } else if offers(Operation::Search) {
        client
            .search(&reference.entity, &spec.id, &id)
            .await
            .map(|r| r.into_iter().next())
    } else if offers(Operation::List) {
        client.list(&reference.entity, None).await.map(|records| {
            records
                .into_iter()
                .find(|r| client.id_of(&reference.entity, r).as_deref() == Some(&reference.value))
        })
    } else {
        check.detail = format!(
            "could not check: `{}` offers no way to read a record",
            reference.entity
        );
        return check;
    };
    match found {
        Ok(Some(record)) => {
            check.verdict = Verdict::Ok;
            check.detail = ["name", "description", "title"]
                .iter()
                .find_map(|k| record.get(*k).and_then(Json::as_str))
                .map_or_else(|| "exists".to_string(), |name| format!("exists: {name}"));
        }
        Ok(None) => {
            check.verdict = Verdict::Missing;
            check.detail = format!(
                "no {} {} in {}",
                reference.entity, reference.value, reference.system
            );
        }
        Err(err) => check.detail = format!("could not check: {err}"),
    }
    check
}

/// Webhooks of the systems flows read: never verifiable from the profiles, so a manual step.
fn webhooks(project: &Project, plan: &Plan) -> Vec<Check> {
    let mut out = Vec::new();
    let mut read: Vec<&str> = plan
        .flows
        .iter()
        .filter_map(|f| f.source.as_ref().map(|s| s.system.as_str()))
        .collect();
    read.sort();
    read.dedup();
    for alias in read {
        let Some(system) = plan.systems.iter().find(|s| s.alias == alias) else {
            continue;
        };
        let Some(hooks) = project
            .profiles
            .get(&system.connector)
            .and_then(|p| p.webhooks.as_ref())
        else {
            continue;
        };
        if hooks.signature.scheme == SignatureScheme::None {
            continue;
        }
        out.push(Check {
            kind: "webhooks",
            system: alias.to_string(),
            subject: format!("webhooks of {alias}"),
            verdict: Verdict::Manual,
            detail: "cannot verify automatically: the API offers no listing of registrations \
                     in the profile; check them by hand"
                .into(),
            notes: hooks.register.clone(),
        });
    }
    out
}

fn print(checks: &[Check], format: Format) {
    if matches!(format, Format::Json) {
        let ok = !checks
            .iter()
            .any(|c| matches!(c.verdict, Verdict::Missing | Verdict::Failed));
        let json = serde_json::json!({ "ok": ok, "checks": checks });
        println!(
            "{}",
            serde_json::to_string_pretty(&json).unwrap_or_default()
        );
        return;
    }
    let color = output::color_stdout();
    let mut kind = "";
    for check in checks {
        if check.kind != kind {
            kind = check.kind;
            println!("{}", output::paint(color, Paint::Bold, kind));
        }
        let (paint, word) = match check.verdict {
            Verdict::Ok => (Paint::Green, "ok"),
            Verdict::Missing => (Paint::Red, "MISSING"),
            Verdict::Failed => (Paint::Red, "FAILED"),
            Verdict::Manual => (Paint::Yellow, "manual"),
        };
        println!(
            "  {:<8} {}: {}",
            output::paint(color, paint, word),
            check.subject,
            check.detail
        );
        let prefix = if check.kind == "webhooks" {
            "set up:"
        } else {
            "used in"
        };
        for note in &check.notes {
            println!("           {prefix} {note}");
        }
    }
    let count = |v: Verdict| checks.iter().filter(|c| c.verdict == v).count();
    println!(
        "preflight: {} ok, {} missing, {} failed, {} to check by hand",
        count(Verdict::Ok),
        count(Verdict::Missing),
        count(Verdict::Failed),
        count(Verdict::Manual)
    );
}
