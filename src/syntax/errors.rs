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
fn rule_name(rule: Rule) -> String {
    let debug = format!("{rule:?}");
    if let Some(word) = debug.strip_prefix("k_") {
        return format!("`{word}`");
    }
    let token = match rule {
        Rule::t_open => Some("`{`"),
        Rule::t_close => Some("`}`"),
        Rule::t_colon => Some("`:`"),
        Rule::t_both => Some("`<->`"),
        Rule::t_assign => Some("`=`"),
        _ => None,
    };
    token.unwrap_or_else(|| phrase(rule)).to_string()
}

/// Rules that only continue an expression (`a` → `a.b`, `a + b`, `a and b`): listing them
/// says nothing useful when something else was expected too.
fn continues_expression(rule: Rule) -> bool {
    matches!(
        rule,
        Rule::kw_and
            | Rule::kw_or
            | Rule::cmp_op
            | Rule::add_op
            | Rule::mul_op
            | Rule::coalesce_op
            | Rule::member
            | Rule::index
            | Rule::call
            | Rule::becomes
            | Rule::changed
    )
}

/// Many statement keywords in one "expected" list read as noise: fold them (and the name
/// that starts an assignment or a mapping) into "a statement" / "a sync rule".
fn fold_statements(names: Vec<String>) -> Vec<String> {
    const FLOW: &[&str] = &[
        "`on`",
        "`since`",
        "`schedule`",
        "`amend`",
        "`let`",
        "`upsert`",
        "`ensure`",
        "`create`",
        "`credit`",
        "`post`",
        "`split`",
        "`when`",
        "`require`",
        "`settle`",
        "`attach`",
        "`line`",
        "`lines`",
    ];
    const SYNC: &[&str] = &["`link`", "`match`", "`hold`", "`conflict`"];
    let count = |set: &[&str]| names.iter().filter(|n| set.contains(&n.as_str())).count();
    let (set, replacement) = if count(SYNC) >= 2 {
        (SYNC, "a sync rule")
    } else if count(FLOW) >= 3 {
        (FLOW, "a statement")
    } else {
        return names;
    };
    let mut folded: Vec<String> = Vec::new();
    for name in names {
        let statement_part = set.contains(&name.as_str())
            || FLOW.contains(&name.as_str())
            || name == "a name"
            || name == "a statement"
            || name.starts_with("a sync rule")
            || name == "an expression";
        let replaced = if statement_part {
            replacement.to_string()
        } else {
            name
        };
        if !folded.contains(&replaced) {
            folded.push(replaced);
        }
    }
    // "`}`" reads best last: "expected a statement or `}`".
    folded.sort_by_key(|n| n == "`}`");
    folded
}

fn phrase(rule: Rule) -> &'static str {
    match rule {
        Rule::EOI => "end of file",
        Rule::expression_only => "an expression",
        Rule::item | Rule::sync_block | Rule::flow_block | Rule::view_block | Rule::table_block => {
            "a block (`sync`, `flow`, `view` or `table`)"
        }
        Rule::ident | Rule::reserved => "a name",
        Rule::entity_ref => "an entity such as `crm.Organisation`",
        Rule::string | Rule::string_text | Rule::escape | Rule::interpolation => {
            "a text in double quotes"
        }
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
        | Rule::mapping => {
            "a sync rule (`a <-> b`, `link`, `match`, `create`, `hold`, `require`, `conflict`)"
        }
        Rule::suggest => "`suggest`",
        Rule::trigger | Rule::event => {
            "a trigger (`created`, `requested`, or a condition with `becomes`)"
        }
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
        | Rule::assignment => "a statement",
        Rule::schedule_every | Rule::schedule_cron => "`every <duration>` or `cron \"…\"`",
        Rule::by_clause | Rule::key_eq => "`by Field == value`",
        Rule::destination | Rule::dest_word | Rule::dest_if => "`ledger`, `inbox` or a setting",
        Rule::body => "`{`",
        Rule::view_stmt | Rule::view_from | Rule::view_columns | Rule::view_order => {
            "`from`, `columns` or `order by`"
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
            let structural: Vec<Rule> = positives
                .iter()
                .copied()
                .filter(|r| !continues_expression(*r))
                .collect();
            let rules = if structural.is_empty() {
                positives.clone()
            } else {
                structural
            };
            let mut names: Vec<String> = Vec::new();
            for name in rules.into_iter().map(rule_name) {
                if !names.contains(&name) {
                    names.push(name);
                }
            }
            if names.len() > 1 {
                names.retain(|n| n != "more input");
            }
            fold_statements(names)
        }
        ErrorVariant::CustomError { .. } => Vec::new(),
    };
    let found = found_token(&file.text, offset);
    let code_end = file.text.trim_end().len();
    let at_end = offset >= code_end;
    let unclosed = unclosed_brace(&file.text[..offset.min(file.text.len())]);
    let expected_text = match expected.as_slice() {
        [] => "something else".to_string(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    };
    // Keywords are contextual, so `flow next {` after a missing `}` first reads as the
    // assignment `flow = …`; the line's first word tells what the author meant.
    let line_start = file.text[..offset.min(file.text.len())]
        .rfind('\n')
        .map_or(0, |n| n + 1);
    let first_word: String = file.text[line_start..]
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect();
    let starts_block =
        unclosed.is_some() && matches!(first_word.as_str(), "sync" | "flow" | "view" | "table");
    let (offset, found) = if starts_block {
        let keyword_at =
            line_start + file.text[line_start..].len() - file.text[line_start..].trim_start().len();
        (keyword_at, first_word.clone())
    } else {
        (offset, found)
    };
    let message = match (at_end, unclosed) {
        (true, Some(_)) => "the file ends inside a block: a `}` is missing".to_string(),
        (true, None) => format!("unexpected end of file; expected {expected_text}"),
        (false, _) if starts_block => {
            format!("a new `{found}` block starts before the previous one is closed")
        }
        (false, _) if found == "'" => {
            "text is written in double quotes, not single quotes".to_string()
        }
        (false, _) => format!("expected {expected_text}, found `{found}`"),
    };
    // A zero-width label at the very end is not drawn: point at the last character instead.
    let span = if at_end {
        let last = file.text[..code_end]
            .chars()
            .last()
            .map_or(0, char::len_utf8);
        Span::new(code_end - last, code_end)
    } else {
        Span::new(offset, (offset + found.len()).min(file.text.len()))
    };
    let label = if at_end {
        "the file ends here"
    } else {
        "unexpected here"
    };
    let diagnostic = Diagnostic::new(&codes::SYNTAX_ERROR, message)
        .in_file(file)
        .primary(span, label);
    match unclosed {
        Some(open) if at_end || starts_block => diagnostic
            .secondary(Span::new(open, open + 1), "this `{` is never closed")
            .help("add the missing `}`; every `{` needs a matching `}`"),
        _ => diagnostic.help(help_for(&expected, &found)),
    }
}

fn help_for(expected: &[String], found: &str) -> String {
    let expects = |name: &str| expected.iter().any(|e| e.contains(name));
    if found == "=" && (expects("arrow") || expects("sync rule")) {
        "sync rules use arrows: `a <-> b` (two-way), `expr -> b` or `a <- expr` (one-way)".into()
    } else if found.starts_with('\'') {
        "text is written in double quotes: \"like this\"".into()
    } else if expects("`as`") {
        "a split names its part: `split amount by plan as part { … }`".into()
    } else if expects("`:`") {
        "a sync names both sides after a colon: `sync name: crm.Organisation <-> erp.Debtor { … }`"
            .into()
    } else if expects("statement") {
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
