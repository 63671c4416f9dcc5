//! The pest parser generated from `grammar/ledgerlink.pest`.

// The derive generates `Rule` with one variant per grammar rule, documented from the
// grammar's `///` lines.
#[derive(pest_derive::Parser)]
#[grammar = "../grammar/ledgerlink.pest"]
pub(crate) struct RuleParser;
