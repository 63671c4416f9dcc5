//! Turns pest's parse errors into diagnostics a consultant can read: grammar rules are
//! renamed into words ("a field path", not `postfix`), and an unclosed `{` is pointed at.

use std::sync::Arc;

use pest::error::{ErrorVariant, InputLocation};

use super::parser::Rule;
use crate::{
    diagnostic::{codes, Diagnostic},
    source::{SourceFile, Span},
};

/// What a user should read for a grammar rule.
fn rule_name(rule: Rule) -> &'static str {
    match rule {
        Rule::EOI => "end of file",
        Rule::expression_only => "an expression",
        Rule::item | Rule::sync_block | Rule::flow_block | Rule::view_block | Rule::table_block => {
            "a block (`sync`, `flow`, `view` or `table`)"
        }
        Rule::ident | Rule::reserved => "a name",
        Rule::entity_ref => "an entity such as `crm.Organisation`",
        Rule::string | Rule::string_text | Rule::escape | Rule::interpolation => "a text in double quotes",
        Rule::number => "a number",
        Rule::percent => "a percentage such as `20%`",
        Rule::date => "a date such as 2026-01-31",
        Rule::duration => "a duration such as `24h`",
        Rule::boolean => "`true` or `false`",
        Rule::null => "`null`",
        Rule::list | Rule::list_item => "a list `[…]`",
        Rule::record_lit | Rule::record_field => "a record `{ name: value }`",
        Rule::expr
        | Rule::if_expr
        | Rule::or_expr
        | Rule::and_expr
        | Rule::not_expr
        | Rule::comparison
        | Rule::coalesce
        | Rule::additive
        | Rule::multiplicative
        | Rule::unary
        | Rule::neg
        | Rule::postfix
        | Rule::primary
        | Rule::group_expr
        | Rule::exists_expr
        | Rule::find_expr => "an expression",
        Rule::member => "`.field`",
        Rule::index => "`[…]`",
        Rule::call => "`(arguments)`",
        Rule::cmp_op | Rule::becomes | Rule::changed => "a comparison",
        Rule::add_op | Rule::mul_op | Rule::coalesce_op => "an operator",
        Rule::kw_and | Rule::kw_or => "`and` / `or`",
        Rule::kw_not => "`not`",
        Rule::kw_in => "`in`",
        Rule::kw_else => "`else`",
        Rule::where_clause => "`where …`",
        Rule::sync_stmt
        | Rule::link_stmt
        | Rule::match_stmt
        | Rule::create_when
        | Rule::hold_stmt
        | Rule::require_fields
        | Rule::conflict_stmt
        | Rule::delete_policy
        | Rule::mapping => "a sync rule (`a <-> b`, `link`, `match`, `create`, `hold`, `require`, `conflict`) or `}`",
        Rule::suggest => "`suggest`",
        Rule::trigger | Rule::event => "a trigger (`created`, `requested`, or a condition with `becomes`)",
        Rule::conflict_newest | Rule::conflict_prefer => "`newest` or `prefer <system>`",
        Rule::arrow => "an arrow `<->`, `->` or `<-`",
        Rule::stmt
        | Rule::on_stmt
        | Rule::since_stmt
        | Rule::schedule_stmt
        | Rule::amend_stmt
        | Rule::let_stmt
        | Rule::upsert_stmt
        | Rule::ensure_stmt
        | Rule::create_stmt
        | Rule::credit_stmt
        | Rule::post_stmt
        | Rule::split_stmt
        | Rule::when_stmt
        | Rule::require_stmt
        | Rule::settle_stmt
        | Rule::attach_stmt
        | Rule::line_stmt
        | Rule::lines_for
        | Rule::lines_group
        | Rule::assignment => "a statement or `}`",
        Rule::schedule_every | Rule::schedule_cron => "`every <duration>` or `cron \"…\"`",
        Rule::by_clause | Rule::key_eq => "`by Field == value`",
        Rule::destination | Rule::dest_word | Rule::dest_if => "`ledger`, `inbox` or a setting",
        Rule::body => "`{`",
        Rule::view_stmt | Rule::view_from | Rule::view_columns | Rule::view_order => {
            "`from`, `columns`, `order by` or `}`"
        }
        Rule::view_column => "a column",
        Rule::order_key | Rule::order_dir => "a column to sort by",
        Rule::table_inline | Rule::table_csv => "`{ key => value, … }` or `= csv \"file.csv\"`",
        Rule::table_entry | Rule::table_key | Rule::wildcard => "a table row `key => value`",
        _ => "more input",
    }
}

/// The diagnostic for a file pest could not parse.
pub(super) fn syntax_error(file: &Arc<SourceFile>, err: &pest::error::Error<Rule>) -> Diagnostic {
    let offset = match err.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((s, _)) => s,
    };
    let expected = match &err.variant {
        ErrorVariant::ParsingError { positives, .. } => {
            let mut names: Vec<&str> = positives.iter().map(|r| rule_name(*r)).collect();
            names.dedup();
            if names.len() > 1 {
                names.retain(|n| *n != "more input");
            }
            let mut seen = Vec::new();
            names.retain(|n| {
                let fresh = !seen.contains(n);
                seen.push(n);
                fresh
            });
            names
        }
        ErrorVariant::CustomError { .. } => Vec::new(),
    };
    let found = found_token(&file.text, offset);
    let at_end = offset >= file.text.trim_end().len();
    let expected_text = match expected.as_slice() {
        [] => "something else".to_string(),
        [one] => one.to_string(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    };
    let message = if at_end {
        format!("unexpected end of file; expected {expected_text}")
    } else {
        format!("expected {expected_text}, found `{found}`")
    };
    let span = Span::new(offset, (offset + found.len()).min(file.text.len()));
    let mut diagnostic = Diagnostic::new(&codes::SYNTAX_ERROR, message)
        .in_file(file)
        .primary(
            span,
            if at_end {
                "the file ends here"
            } else {
                "unexpected here"
            },
        );
    let open = if at_end {
        unclosed_brace(&file.text[..offset.min(file.text.len())])
    } else {
        None
    };
    if let Some(open) = open {
        diagnostic = diagnostic
            .secondary(Span::new(open, open + 1), "this `{` is never closed")
            .help("add the missing `}`; every `{` needs a matching `}`");
    } else {
        diagnostic = diagnostic.help(help_for(&expected_text, &found));
    }
    diagnostic
}

fn help_for(expected: &str, found: &str) -> String {
    if found == "=" && expected.contains("sync rule") {
        "sync rules use arrows: `a <-> b` (two-way), `expr -> b` or `a <- expr` (one-way)".into()
    } else if found.starts_with('\'') {
        "text is written in double quotes: \"like this\"".into()
    } else if expected.contains("statement") {
        "see docs/language.md for the statements of a flow".into()
    } else {
        "see docs/language.md for the grammar".into()
    }
}

/// The word or symbol at `offset`, for "found `…`".
fn found_token(text: &str, offset: usize) -> String {
    let rest = text.get(offset..).unwrap_or("");
    let mut chars = rest.chars();
    match chars.next() {
        None => String::new(),
        Some(c) if c.is_alphanumeric() || c == '_' => rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect(),
        Some(c) => {
            let two: String = rest.chars().take(3).collect();
            for op in ["<->", "->", "<-", "==", "!=", "<=", ">=", "=>", "??"] {
                if two.starts_with(op) {
                    return op.to_string();
                }
            }
            c.to_string()
        }
    }
}

/// The byte offset of the innermost `{` still open at the end of `text`, ignoring strings
/// and comments.
fn unclosed_brace(text: &str) -> Option<usize> {
    let mut stack = Vec::new();
    let mut in_string = false;
    let mut in_comment = false;
    let mut escaped = false;
    let mut interpolation_depth = 0usize;
    for (i, c) in text.char_indices() {
        if in_comment {
            in_comment = c != '\n';
            continue;
        }
        if in_string && interpolation_depth == 0 {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                '{' => interpolation_depth = 1,
                '\n' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '#' => in_comment = true,
            '"' => in_string = true,
            '{' if interpolation_depth > 0 => interpolation_depth += 1,
            '}' if interpolation_depth > 0 => interpolation_depth -= 1,
            '{' => stack.push(i),
            '}' => {
                stack.pop();
            }
            _ => {}
        }
    }
    // An error right after a complete block is not about braces.
    stack.last().copied()
}
