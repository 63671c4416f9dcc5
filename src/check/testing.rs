//! Test helpers: lint a rule snippet in a small in-memory project, so rule tests read like
//! table rows.

use crate::{
    connector::registry::Profiles,
    project::{Project, RuleFile},
    source::SourceFile,
};

/// The project file the snippets are checked against.
pub const PROJECT: &str = "systems:
  winner: { connector: winner, options: { path: quotes.json } }
  acc: { connector: tryton, options: { url: \"http://127.0.0.1:8000\", database: ledgerlink }, auth: { login: env:TRYTON_USER, password: env:TRYTON_PASSWORD } }
  crm: { connector: webcrm, auth: { api_key: env:WEBCRM_KEY } }
  erp: { connector: uniconta, options: { company: 1 }, auth: { user: env:UC_USER, password: env:UC_PASSWORD } }
settings:
  from_date: 2026-01-01
  customer_keyword: Customer
  line_mode: grouped
  payment_plan: [ { share: 20%, label: Forskudd }, { share: 80%, label: Ved levering } ]
";

/// Lints `rules` against `yaml`; returns the codes found, in order.
pub fn lint_codes_with_yaml(yaml: &str, rules: &str) -> Vec<&'static str> {
    let mut diagnostics = Vec::new();
    let project = project(yaml, rules, &mut diagnostics);
    diagnostics.extend(super::check(&project));
    diagnostics.iter().map(|d| d.code.id).collect()
}

/// Lints `rules` against [`PROJECT`].
pub fn lint_codes(rules: &str) -> Vec<&'static str> {
    lint_codes_with_yaml(PROJECT, rules)
}

/// An in-memory project.
pub fn project(
    yaml: &str,
    rules: &str,
    diagnostics: &mut Vec<crate::diagnostic::Diagnostic>,
) -> Project {
    let file = SourceFile::new("ledgerlink.yaml", yaml);
    let config = serde_yaml_ng::from_str(yaml).ok();
    Project {
        dir: std::env::temp_dir(),
        file,
        config,
        rules: vec![RuleFile::parse(
            SourceFile::new("test.rules", rules),
            diagnostics,
        )],
        profiles: Profiles::shipped(diagnostics),
    }
}
