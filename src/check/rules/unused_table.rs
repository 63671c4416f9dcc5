#![doc = include_str!("../../../docs/lints/LL502.md")]

use super::Rule;
use crate::{
    check::{context::Context, resolve::Facts},
    diagnostic::{codes, Code, Diagnostic},
};

/// A table no rule looks anything up in.
pub struct UnusedTable;

impl Rule for UnusedTable {
    fn code(&self) -> &'static Code {
        &codes::UNUSED_TABLE
    }

    fn check(&self, cx: &Context<'_>, _facts: &Facts, out: &mut Vec<Diagnostic>) {
        let used = cx.used.borrow();
        for (name, table) in &cx.tables {
            if !used.contains(&format!("table:{name}")) {
                out.push(
                    Diagnostic::new(
                        &codes::UNUSED_TABLE,
                        format!("table `{name}` is never used"),
                    )
                    .primary(table.name_span, "defined but not looked up")
                    .help(format!("use it as `{name}[key]`, or remove it"))
                    .in_file(&table.file),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::check::testing::lint_codes;

    #[test]
    fn unused_tables_are_reported() {
        assert!(
            lint_codes(r#"flow f { on winner.Quote } table t { "a" => "b" }"#).contains(&"LL502")
        );
        assert!(!lint_codes(
            r#"flow f { on winner.Quote when t[Number] == "b" } table t { "a" => "b" }"#
        )
        .contains(&"LL502"));
    }
}
