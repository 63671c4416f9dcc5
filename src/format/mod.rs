//! Format: prints a rule file's syntax tree in the one canonical layout, keeping every
//! comment and the blank lines between statements.
//!
//! Layout: two-space indentation, one statement per line, bodies always multi-line (an
//! empty body is `{}`), one blank line between blocks, single spaces around arrows and
//! operators, parentheses only where precedence needs them or where the author wrote them.
//! Comments are re-inserted by position: an own-line comment before the statement it
//! precedes, a trailing comment after the line it ends.

mod comments;
mod expr;

use std::sync::Arc;

use comments::Comment;

use crate::{
    diagnostic::Diagnostic,
    source::{SourceFile, Span},
    syntax::{
        self,
        ast::{
            ConflictPolicy, Destination, Item, Schedule, Spanned, Statement, SyncStatement,
            TableKey, TableSource, Trigger, WriteKind,
        },
    },
};

/// Formats a rule file; returns its syntax errors when it cannot be parsed.
pub fn format_source(file: &Arc<SourceFile>) -> Result<String, Vec<Diagnostic>> {
    let (ast, diagnostics) = syntax::parse(file);
    if diagnostics.iter().any(Diagnostic::is_error) {
        return Err(diagnostics);
    }
    let mut printer = Printer {
        text: &file.text,
        out: String::new(),
        indent: 0,
        comments: comments::comments(&file.text),
        next: 0,
    };
    let mut previous: Option<Span> = None;
    for item in &ast.items {
        if previous.is_some() {
            printer.out.push('\n');
        }
        printer.before(item.span(), previous);
        printer.item(item);
        previous = Some(item.span());
    }
    printer.flush_until(usize::MAX);
    let mut out = printer.out.trim_end().to_string();
    out.push('\n');
    if out.trim().is_empty() {
        out.clear();
    }
    Ok(out)
}

struct Printer<'t> {
    text: &'t str,
    out: String,
    indent: usize,
    comments: Vec<Comment>,
    next: usize,
}

impl Printer<'_> {
    fn line(&mut self, text: &str) {
        for _ in 0..self.indent {
            self.out.push_str("  ");
        }
        self.out.push_str(text);
        self.out.push('\n');
    }

    /// Emits the comments that come before `offset`; trailing ones join the previous line.
    fn flush_until(&mut self, offset: usize) {
        while let Some(comment) = self.comments.get(self.next) {
            if comment.offset >= offset {
                break;
            }
            let comment = comment.clone();
            self.next += 1;
            if !comment.own_line && self.out.ends_with('\n') && !self.out.trim().is_empty() {
                self.out.pop();
                self.out.push_str("  ");
                self.out.push_str(&comment.text);
                self.out.push('\n');
            } else {
                self.line(&comment.text);
            }
        }
    }

    /// Before a statement: its comments, and a blank line if the author left one.
    fn before(&mut self, span: Span, previous: Option<Span>) {
        if let Some(previous) = previous {
            // Trailing comments on the previous statement's last line go first.
            let line_end = self.text[previous.end..]
                .find('\n')
                .map_or(self.text.len(), |n| previous.end + n);
            self.flush_until(line_end.min(span.start));
            let gap = &self.text[previous.end.min(span.start)..span.start];
            let blank = gap.split('\n').skip(1).any(|l| l.trim().is_empty())
                && gap.matches('\n').count() >= 2;
            if blank && !self.out.ends_with("\n\n") && !self.out.ends_with("{\n") {
                self.out.push('\n');
            }
        }
        self.flush_until(span.start);
    }

    fn block_end(&mut self, end: usize) {
        self.flush_until(end.saturating_sub(1));
    }

    fn item(&mut self, item: &Item) {
        match item {
            Item::Sync(sync) => {
                let s = &sync.node;
                let header = format!(
                    "sync {}: {} <-> {} {{",
                    expr::ident(&s.name.node),
                    expr::entity(&s.left.node),
                    expr::entity(&s.right.node)
                );
                self.open(&header, sync.span, &s.statements, |p, st| {
                    p.sync_statement(st)
                });
            }
            Item::Flow(flow) => {
                let header = format!("flow {} {{", expr::ident(&flow.node.name.node));
                self.open(&header, flow.span, &flow.node.statements, |p, st| {
                    p.statement(st)
                });
            }
            Item::View(view) => {
                let v = &view.node;
                self.line(&format!(
                    "view {} for {} {{",
                    expr::ident(&v.name.node),
                    expr::entity(&v.subject.node)
                ));
                self.indent += 1;
                let mut previous = None;
                for (clause, span) in &v.clause_spans {
                    self.before(*span, previous);
                    previous = Some(*span);
                    match clause.as_str() {
                        "from" => {
                            let from = v
                                .from
                                .as_ref()
                                .map(|f| expr::entity(&f.node))
                                .unwrap_or_default();
                            let filter = v
                                .filter
                                .as_ref()
                                .map(|f| format!(" where {}", expr::expr(f)))
                                .unwrap_or_default();
                            self.line(&format!("from {from}{filter}"));
                        }
                        "columns" => {
                            let columns: Vec<String> = v
                                .columns
                                .iter()
                                .map(|c| match &c.value {
                                    Some(value) => format!(
                                        "{} = {}",
                                        expr::ident(&c.name.node),
                                        expr::expr(value)
                                    ),
                                    None => expr::ident(&c.name.node),
                                })
                                .collect();
                            self.line(&format!("columns {}", columns.join(", ")));
                        }
                        _ => {
                            let keys: Vec<String> = v
                                .order
                                .iter()
                                .map(|k| {
                                    format!(
                                        "{}{}",
                                        expr::ident(&k.column.node),
                                        if k.descending { " desc" } else { "" }
                                    )
                                })
                                .collect();
                            self.line(&format!("order by {}", keys.join(", ")));
                        }
                    }
                }
                self.block_end(view.span.end);
                self.indent -= 1;
                self.line("}");
            }
            Item::Table(table) => {
                let t = &table.node;
                match &t.source {
                    TableSource::Csv { path, key, value } => {
                        let columns = match (key, value) {
                            (Some(k), Some(v)) => format!(
                                " key {} value {}",
                                expr::ident(&k.node),
                                expr::ident(&v.node)
                            ),
                            _ => String::new(),
                        };
                        self.line(&format!(
                            "table {} = csv {}{columns}",
                            expr::ident(&t.name.node),
                            expr::quote(&path.node)
                        ));
                    }
                    TableSource::Inline { entries } => {
                        let header = format!("table {} {{", expr::ident(&t.name.node));
                        self.open(&header, table.span, entries, |p, entry| {
                            let keys: Vec<String> = entry
                                .node
                                .keys
                                .iter()
                                .map(|k| match &k.node {
                                    TableKey::Wildcard => "_".to_string(),
                                    TableKey::Literal(l) => expr::literal(l),
                                })
                                .collect();
                            p.line(&format!(
                                "{} => {}",
                                keys.join(" | "),
                                expr::expr(&entry.node.value)
                            ));
                        });
                    }
                }
            }
        }
    }

    /// Prints `header`, the body statements (indented) and `}`; an empty body is `{}`.
    fn open<T>(
        &mut self,
        header: &str,
        span: Span,
        body: &[Spanned<T>],
        mut each: impl FnMut(&mut Self, &Spanned<T>),
    ) {
        let has_comments = self
            .comments
            .get(self.next)
            .is_some_and(|c| c.offset < span.end);
        if body.is_empty() && !has_comments {
            self.line(&format!("{}}}", header));
            return;
        }
        self.line(header);
        self.indent += 1;
        let mut previous = None;
        for statement in body {
            self.before(statement.span, previous);
            each(self, statement);
            previous = Some(statement.span);
        }
        self.block_end(span.end);
        self.indent -= 1;
        self.line("}");
    }

    fn sync_statement(&mut self, statement: &Spanned<SyncStatement>) {
        let text = match &statement.node {
            SyncStatement::Link {
                left,
                direction,
                right,
            } => {
                format!(
                    "link {} {} {}",
                    expr::expr(left),
                    direction.node.arrow(),
                    expr::expr(right)
                )
            }
            SyncStatement::Mapping {
                left,
                direction,
                right,
            } => {
                format!(
                    "{} {} {}",
                    expr::expr(left),
                    direction.node.arrow(),
                    expr::expr(right)
                )
            }
            SyncStatement::Match { condition, suggest } => {
                format!(
                    "match {}{}",
                    expr::expr(condition),
                    if *suggest { " suggest" } else { "" }
                )
            }
            SyncStatement::Create { target, trigger } => format!(
                "create {} when {}",
                expr::ident(&target.node),
                trigger_text(&trigger.node)
            ),
            SyncStatement::Hold { field, value } => format!(
                "hold {} = {} while linked",
                expr::expr(field),
                expr::expr(value)
            ),
            SyncStatement::Require { fields } => {
                let fields: Vec<String> = fields.iter().map(expr::expr).collect();
                format!("require {} before create", fields.join(", "))
            }
            SyncStatement::Conflict(ConflictPolicy::Newest) => "conflict newest".to_string(),
            SyncStatement::Conflict(ConflictPolicy::Prefer { system }) => {
                format!("conflict prefer {}", expr::ident(&system.node))
            }
            SyncStatement::OnDelete(policy) => format!("on delete {}", expr::ident(&policy.node)),
        };
        self.line(&text);
    }

    fn body(&mut self, header: &str, span: Span, body: &[Spanned<Statement>]) {
        self.open(header, span, body, |p, s| p.statement(s));
    }

    fn statement(&mut self, statement: &Spanned<Statement>) {
        self.statement_with_prefix(statement, "");
    }

    fn statement_with_prefix(&mut self, statement: &Spanned<Statement>, prefix: &str) {
        let span = statement.span;
        match &statement.node {
            Statement::On { source, trigger } => {
                let trigger = trigger
                    .as_ref()
                    .map(|t| format!(" when {}", trigger_text(&t.node)))
                    .unwrap_or_default();
                self.line(&format!(
                    "{prefix}on {}{trigger}",
                    expr::entity(&source.node)
                ));
            }
            Statement::Since(e) => self.line(&format!("{prefix}since {}", expr::expr(e))),
            Statement::Schedule(Schedule::Every(e)) => {
                self.line(&format!("{prefix}schedule every {}", expr::expr(e)))
            }
            Statement::Schedule(Schedule::Cron(e)) => {
                self.line(&format!("{prefix}schedule cron {}", expr::expr(e)))
            }
            Statement::Amend(p) => self.line(&format!("{prefix}amend {}", expr::ident(&p.node))),
            Statement::Let { name, value } => {
                let prefix = format!("{prefix}let {} = ", expr::ident(&name.node));
                match &value.node {
                    Statement::Value(e) => self.line(&format!("{prefix}{}", expr::expr(e))),
                    _ => self.statement_with_prefix(value, &prefix),
                }
            }
            Statement::Value(e) => self.line(&format!("{prefix}{}", expr::expr(e))),
            Statement::Write(w) => {
                let target = expr::entity(&w.target.node);
                let mut header = format!("{prefix}{} {target}", w.kind.node.keyword());
                if !w.keys.is_empty() {
                    let keys: Vec<String> = w
                        .keys
                        .iter()
                        .map(|k| {
                            format!("{} == {}", expr::ident(&k.field.node), expr::expr(&k.value))
                        })
                        .collect();
                    header.push_str(&format!(" by {}", keys.join(" and ")));
                }
                if let Some(c) = &w.credit_for {
                    header.push_str(&format!(" for {}", expr::expr(c)));
                }
                if let Some(d) = &w.destination {
                    header.push_str(&format!(" to {}", destination(&d.node)));
                }
                let optional_body = matches!(w.kind.node, WriteKind::Ensure | WriteKind::Credit);
                let has_comments = self
                    .comments
                    .get(self.next)
                    .is_some_and(|c| c.offset < span.end);
                if w.body.is_empty()
                    && optional_body
                    && !has_comments
                    && !self.text[w.target.span.end..span.end].contains('{')
                {
                    self.line(&header);
                } else {
                    self.body(&format!("{header} {{"), span, &w.body);
                }
            }
            Statement::Split {
                amount,
                plan,
                part,
                body,
            } => {
                let header = format!(
                    "{prefix}split {} by {} as {} {{",
                    expr::expr(amount),
                    expr::expr(plan),
                    expr::ident(&part.node)
                );
                self.body(&header, span, body);
            }
            Statement::When { .. } => self.when(statement, prefix),
            Statement::Require { condition, message } => self.line(&format!(
                "{prefix}require {} else {}",
                expr::expr(condition),
                expr::expr(message)
            )),
            Statement::Settle(e) => self.line(&format!("{prefix}settle {}", expr::expr(e))),
            Statement::Attach(e) => self.line(&format!("{prefix}attach {}", expr::expr(e))),
            Statement::Line(body) => self.body(&format!("{prefix}line {{"), span, body),
            Statement::LinesFor { item, list, body } => {
                let header = format!(
                    "{prefix}lines for {} in {} {{",
                    expr::ident(&item.node),
                    expr::expr(list)
                );
                self.body(&header, span, body);
            }
            Statement::LinesGroup {
                list,
                key,
                group,
                body,
            } => {
                let header = format!(
                    "{prefix}lines group {} by {} as {} {{",
                    expr::expr(list),
                    expr::ident(&key.node),
                    expr::ident(&group.node)
                );
                self.body(&header, span, body);
            }
            Statement::Assign { field, value } => self.line(&format!(
                "{prefix}{} = {}",
                expr::ident(&field.node),
                expr::expr(value)
            )),
        }
    }

    /// `when c { … } else when d { … } else { … }`, `else` on the closing-brace line.
    fn when(&mut self, statement: &Spanned<Statement>, prefix: &str) {
        let Statement::When {
            condition,
            then,
            otherwise,
        } = &statement.node
        else {
            return;
        };
        self.line(&format!("{prefix}when {} {{", expr::expr(condition)));
        self.statements(then);
        match otherwise.as_deref() {
            Some([single])
                if matches!(single.node, Statement::When { .. })
                    && !self.is_braced_else(single) =>
            {
                self.before(single.span, None);
                self.when(single, "} else ");
            }
            Some(otherwise) => {
                if let Some(first) = otherwise.first() {
                    let brace = self.text[..first.span.start]
                        .rfind('{')
                        .unwrap_or(first.span.start);
                    self.flush_until(brace);
                }
                self.line("} else {");
                self.statements(otherwise);
                self.block_end(statement.span.end);
                self.line("}");
            }
            None => {
                self.block_end(statement.span.end);
                self.line("}");
            }
        }
    }

    /// Is the `else` of a nested `when` written as `else { when … }` rather than `else when`?
    fn is_braced_else(&self, nested: &Spanned<Statement>) -> bool {
        let before = self.text[..nested.span.start].trim_end();
        before.ends_with('{')
    }

    /// Indented statements with their comments.
    fn statements(&mut self, body: &[Spanned<Statement>]) {
        self.indent += 1;
        let mut previous = None;
        for statement in body {
            self.before(statement.span, previous);
            self.statement(statement);
            previous = Some(statement.span);
        }
        self.indent -= 1;
    }
}

fn trigger_text(trigger: &Trigger) -> String {
    match trigger {
        Trigger::Event { event, condition } => {
            let word = match event.node {
                syntax::ast::Event::Created => "created",
                syntax::ast::Event::Requested => "requested",
                syntax::ast::Event::Deleted => "deleted",
                syntax::ast::Event::Any => "any",
            };
            match condition {
                Some(c) => format!("{word} and {}", expr::expr(c)),
                None => word.to_string(),
            }
        }
        Trigger::Condition(c) => expr::expr(c),
    }
}

fn destination(d: &Destination) -> String {
    match d {
        Destination::Word(w) => w.node.clone(),
        Destination::If {
            condition,
            then,
            otherwise,
        } => {
            format!(
                "if {} then {} else {}",
                expr::expr(condition),
                destination(&then.node),
                destination(&otherwise.node)
            )
        }
        Destination::Expr(e) => expr::expr(e),
    }
}
