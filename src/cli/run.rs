//! `ledgerlink run PROJECT [--once] [--dry-run] [--sink DIR] [--state URL] [--record DIR] [--format human|json]`

use std::path::PathBuf;

use super::{
    output::{self, Paint},
    Exit, Format,
};
use crate::{
    project::Project,
    runtime::{
        self,
        dry_run::{Action, Preview},
        RunOptions, RunReport,
    },
    state::{EventFilter, Store},
};

/// Arguments of `run`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The project folder.
    pub path: PathBuf,
    /// Run every flow once and exit (the default until `serve` schedules runs).
    #[arg(long)]
    pub once: bool,
    /// Show what would be written, field by field; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Write target documents as JSON files under this folder instead of calling the APIs.
    #[arg(long)]
    pub sink: Option<PathBuf>,
    /// State store URL (overrides `state:` in ledgerlink.yaml).
    #[arg(long, env = "LEDGERLINK_STATE")]
    pub state: Option<String>,
    /// The date `today()` returns (YYYY-MM-DD), for reproducible runs.
    #[arg(long)]
    pub today: Option<chrono::NaiveDate>,
    /// Record the source records, lookups and delivery answers into this folder, for `ledgerlink test`.
    #[arg(long, value_name = "DIR")]
    pub record: Option<PathBuf>,
    /// Instead of listing the sources, take these records of one entity as pushed by its
    /// system (a webhook delivery; a JSON object or array): `shop.Order=delivery.json`.
    /// Only the flows on that entity run.
    #[arg(long, value_name = "SYSTEM.ENTITY=FILE")]
    pub records: Option<String>,
    /// With `--records`: the records were deleted in their system.
    #[arg(long, requires = "records")]
    pub deleted: bool,
    /// Output format of the summary.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// `--records SYSTEM.ENTITY=FILE` read into what the runtime ingests.
fn pushed(spec: &str, deleted: bool) -> Result<runtime::Pushed, String> {
    let (entity, file) = spec
        .split_once('=')
        .ok_or_else(|| format!("`--records {spec}`: write SYSTEM.ENTITY=FILE"))?;
    let (system, entity) = entity
        .split_once('.')
        .ok_or_else(|| format!("`--records {spec}`: `{entity}` is not SYSTEM.ENTITY"))?;
    let text = std::fs::read_to_string(file).map_err(|e| format!("cannot read `{file}`: {e}"))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("`{file}` is not JSON: {e}"))?;
    let records = match value {
        serde_json::Value::Array(items) => items,
        record @ serde_json::Value::Object(_) => vec![record],
        _ => {
            return Err(format!(
                "`{file}` holds neither a record nor a list of them"
            ))
        }
    };
    Ok(runtime::Pushed {
        system: system.to_string(),
        entity: entity.to_string(),
        records,
        deleted,
    })
}

/// Lints, then runs the project once and prints a summary and this run's export log.
pub fn run(args: Args) -> Exit {
    let (project, _warnings) = match super::load_checked(&args.path, "not run") {
        Ok(checked) => checked,
        Err(exit) => return exit,
    };
    let pushed = match args.records.as_deref().map(|r| pushed(r, args.deleted)) {
        Some(Ok(pushed)) => Some(pushed),
        Some(Err(message)) => {
            output::error(message);
            return Exit::Usage;
        }
        None => None,
    };
    // A recorded run fixes its date, so the replay uses the same one.
    let today = match &args.record {
        Some(_) => Some(
            args.today
                .unwrap_or_else(|| chrono::Local::now().date_naive()),
        ),
        None => args.today,
    };
    let record = match args.record.as_deref().map(super::absolute) {
        Some(dir) => match runtime::record::Recorder::create(
            &dir,
            &project,
            today.unwrap_or_default(),
            args.dry_run,
        ) {
            Ok(recorder) => Some(std::sync::Arc::new(recorder)),
            Err(err) => {
                output::error(format!("cannot record the run: {err}"));
                return Exit::Usage;
            }
        },
        None => None,
    };
    let options = RunOptions {
        dry_run: args.dry_run,
        today,
        record,
        sink: args.sink.as_deref().map(super::absolute),
        state: args.state.clone(),
        progress: matches!(args.format, Format::Human) && output::color(),
    };
    // The export log shown is this run's: events logged from now on.
    let started = chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string();
    let result = super::block_on(async {
        let report = match &pushed {
            Some(pushed) => runtime::ingest(&project, &options, pushed).await?,
            None => runtime::run(&project, &options).await?,
        };
        let events = if args.dry_run {
            Vec::new()
        } else {
            run_events(&project, &options, &report, started).await?
        };
        let preview = if args.dry_run {
            Some(runtime::dry_run::preview(&project, &options, &report).await?)
        } else {
            None
        };
        Ok((report, events, preview))
    });
    match result {
        Ok((report, events, preview)) => {
            print_report(&report, &events, args.format, preview.as_ref());
            if report.failed > 0
                || report
                    .flows
                    .iter()
                    .any(|f| f.failed > 0 || f.unreadable.is_some())
            {
                Exit::Findings
            } else {
                Exit::Clean
            }
        }
        Err(err) => {
            output::error(err);
            Exit::Usage
        }
    }
}

async fn run_events(
    project: &Project,
    options: &RunOptions,
    report: &RunReport,
    started: String,
) -> Result<Vec<crate::state::Event>, runtime::RuntimeError> {
    let url = runtime::state_location(project, options.state.as_deref());
    let store = Store::open(&url).await?;
    Ok(store
        .events(
            &report.project,
            &EventFilter {
                since: Some(started),
                limit: Some(500),
                ..EventFilter::default()
            },
        )
        .await?)
}

fn print_report(
    report: &RunReport,
    events: &[crate::state::Event],
    format: Format,
    preview: Option<&Preview>,
) {
    let dry_run = preview.is_some();
    if matches!(format, Format::Json) {
        let mut json = serde_json::json!({ "report": report, "events": events });
        if let Some(preview) = preview {
            json["dry_run"] = serde_json::to_value(preview).unwrap_or_default();
        }
        println!(
            "{}",
            serde_json::to_string_pretty(&json).unwrap_or_default()
        );
        return;
    }
    println!(
        "project {}{}",
        report.project,
        if dry_run {
            " (dry run: nothing written)"
        } else {
            ""
        }
    );
    for flow in &report.flows {
        if let Some(reason) = &flow.unreadable {
            println!("  flow {:<24} NOT RUN: {reason}", flow.name);
            continue;
        }
        println!(
            "  flow {:<24} {} records, {} new or changed, {} triggered, {} held back, {} bad, {} documents",
            flow.name, flow.records, flow.changed, flow.triggered, flow.skipped, flow.failed, flow.documents
        );
    }
    for sync in &report.syncs_not_run {
        println!("  sync {sync:<24} not run: two-way sync comes with issue #6");
    }
    if let Some(preview) = preview {
        print_preview(report, preview);
        return;
    }
    println!(
        "  delivered {}, failed {}, still open {}",
        report.delivered, report.failed, report.pending
    );
    if !events.is_empty() {
        println!("export log of this run ({} events):", events.len());
        for event in events {
            println!(
                "  {} {:<11} {}",
                event.at,
                format!("{:?}", event.kind).to_lowercase(),
                event.message
            );
        }
    }
}

/// The plan diff of a dry run, grouped by flow: what would be created, updated, left as it
/// is, skipped or refused, and why; updates field by field, before → after.
fn print_preview(report: &RunReport, preview: &Preview) {
    let color = output::color_stdout();
    let mut flows: Vec<&str> = report.flows.iter().map(|f| f.name.as_str()).collect();
    for name in preview
        .writes
        .iter()
        .map(|w| w.flow.as_str())
        .chain(preview.held_back.iter().map(|h| h.flow.as_str()))
    {
        if !flows.contains(&name) {
            flows.push(name);
        }
    }
    for flow in flows {
        let writes: Vec<_> = preview.writes.iter().filter(|w| w.flow == flow).collect();
        let held: Vec<_> = preview
            .held_back
            .iter()
            .filter(|h| h.flow == flow)
            .collect();
        if writes.is_empty() && held.is_empty() {
            continue;
        }
        println!();
        println!(
            "{}",
            output::paint(color, Paint::Bold, &format!("flow {flow}"))
        );
        for write in writes {
            let (paint, verb) = match write.action {
                Action::Create => (Paint::Green, "would create"),
                Action::Update => (Paint::Yellow, "would update"),
                Action::Unchanged => (Paint::Dim, "unchanged"),
                Action::Recorded => (Paint::Dim, "already recorded"),
                Action::NotChecked => (Paint::Red, "not checked"),
            };
            let target = match &write.target_id {
                Some(id) => format!("{} {id}", write.target),
                None => write.target.clone(),
            };
            println!(
                "  {} {target} ({} for {}): {}",
                output::paint(color, paint, verb),
                write.operation,
                write.source,
                write.reason
            );
            for change in &write.changes {
                match write.action {
                    Action::Update => println!(
                        "      {}: {} → {}",
                        change.path,
                        shown(change.before.as_ref()),
                        shown(change.after.as_ref())
                    ),
                    _ => println!("      {} = {}", change.path, shown(change.after.as_ref())),
                }
            }
        }
        for record in held {
            let paint = if record.outcome == "skipped" {
                Paint::Dim
            } else {
                Paint::Red
            };
            println!(
                "  {} {}: {}",
                output::paint(color, paint, record.outcome),
                record.source,
                record.reason
            );
        }
    }
    let skipped = preview
        .held_back
        .iter()
        .filter(|h| h.outcome == "skipped")
        .count();
    println!();
    println!(
        "dry run: {} to create, {} to update, {} unchanged, {} already recorded, {} not checked; {} records skipped, {} failed",
        preview.count(Action::Create),
        preview.count(Action::Update),
        preview.count(Action::Unchanged),
        preview.count(Action::Recorded),
        preview.count(Action::NotChecked),
        skipped,
        preview.held_back.len() - skipped
    );
}

/// A value for people: JSON, `(none)` when the field is absent.
fn shown(value: Option<&serde_json::Value>) -> String {
    value.map_or_else(|| "(none)".to_string(), |v| v.to_string())
}
