//! `ledgerlink compile PATH [--format json|yaml]`

use std::path::PathBuf;

use super::{output, Exit, Format};
use crate::plan;

/// Plan output formats.
#[derive(Debug, Clone, Copy, Default, clap::ValueEnum)]
pub enum PlanFormat {
    /// JSON.
    #[default]
    Json,
    /// YAML.
    Yaml,
    /// A short human summary of what the plan does.
    Summary,
}

/// Arguments of `compile`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The project folder.
    pub path: PathBuf,
    /// Output format of the plan.
    #[arg(long, value_enum, default_value_t)]
    pub format: PlanFormat,
}

/// Checks the project and prints its plan; refuses a project with lint errors.
pub fn run(args: Args) -> Exit {
    let (project, diagnostics) = match super::load_checked(&args.path, "not compiled") {
        Ok(checked) => checked,
        Err(exit) => return exit,
    };
    if !diagnostics.is_empty() {
        output::print_diagnostics(&diagnostics, Format::Human);
    }
    let plan = plan::compile(&project);
    let text = match args.format {
        PlanFormat::Json => serde_json::to_string_pretty(&plan).map_err(|e| e.to_string()),
        PlanFormat::Yaml => serde_yaml_ng::to_string(&plan).map_err(|e| e.to_string()),
        PlanFormat::Summary => Ok(summary(&plan)),
    };
    match text {
        Ok(text) => {
            println!("{}", text.trim_end());
            Exit::Clean
        }
        Err(err) => {
            output::error(err);
            Exit::Usage
        }
    }
}

/// What a plan does, in a few lines for people.
fn summary(plan: &plan::Plan) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let name = plan.project.as_deref().unwrap_or("(unnamed)");
    let _ = writeln!(
        out,
        "project {name}: plan v{}, state {}",
        plan.version, plan.state
    );
    for system in &plan.systems {
        let _ = writeln!(
            out,
            "  system {:<10} connector {}",
            system.alias, system.connector
        );
    }
    for sync in &plan.syncs {
        let _ = writeln!(
            out,
            "  sync   {:<22} {}.{} <-> {}.{}: {} field rules, {} match, {} create, conflict {}",
            sync.name,
            sync.left.system,
            sync.left.entity,
            sync.right.system,
            sync.right.entity,
            sync.fields.len() + sync.links.len(),
            sync.matches.len(),
            sync.creates.len(),
            sync.conflict
        );
    }
    for flow in &plan.flows {
        let source = flow
            .source
            .as_ref()
            .map_or("?".to_string(), |s| format!("{}.{}", s.system, s.entity));
        let _ = writeln!(
            out,
            "  flow   {:<22} on {source}: {} steps, amend {}",
            flow.name,
            flow.steps.len(),
            flow.amend
        );
    }
    for view in &plan.views {
        let _ = writeln!(
            out,
            "  view   {:<22} for {}.{}: {} columns",
            view.name,
            view.subject.system,
            view.subject.entity,
            view.columns.len()
        );
    }
    for table in &plan.tables {
        let _ = writeln!(out, "  table  {:<22} {} rows", table.name, table.rows.len());
    }
    out
}
