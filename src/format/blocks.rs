//! Prints the blocks: `sync`, `flow` with its statements and document bodies, `view` and
//! `table`. One statement per line; a body is `{` … `}` over several lines, or `{}` when
//! empty.

use super::printer::{Head, Printer, Region};
use crate::source::Span;
use crate::syntax::ast::{
    Ast, ConflictPolicy, Destination, Event, Expr, FlowBlock, Item, Schedule, Spanned, Statement,
    SyncBlock, SyncStatement, TableBlock, TableKey, TableSource, Trigger, ViewBlock, Write,
    WriteKind,
};

/// A clause of a view as it was written.
struct Clause<'v> {
    /// `from`, `columns` or `order by`.
    name: &'v str,
    /// Where it was written.
    span: Span,
    /// Synthesised for a tree without clause spans: it holds every column or key.
    all: bool,
}

impl Clause<'_> {
    fn holds(&self, span: Span) -> bool {
        self.all || (self.span.start <= span.start && span.start < self.span.end)
    }
}

impl Printer<'_> {
    /// Prints a whole file.
    pub fn file(&mut self, ast: &Ast) {
        let region = Region {
            start: 0,
            close: self.src.len(),
            indent: 0,
            top: true,
        };
        self.sequence(region, &ast.items, Item::span, |p, item, indent| {
            p.item(item, indent)
        });
    }

    fn item(&mut self, item: &Item, indent: usize) {
        match item {
            Item::Sync(block) => self.sync_block(&block.node, indent),
            Item::Flow(block) => self.flow_block(&block.node, indent),
            Item::View(block) => self.view_block(&block.node, indent),
            Item::Table(block) => self.table_block(&block.node, indent),
        }
    }

    // ───────────────────────────── sync ──────────────────────────────

    fn sync_block(&mut self, block: &SyncBlock, indent: usize) {
        let e = &self.exprs;
        let header = format!(
            "sync {}: {} <-> {}",
            e.ident(&block.name),
            e.entity(&block.left),
            e.entity(&block.right)
        );
        let open = self.find_code(self.code_end(block.right.span), b'{');
        self.braced(
            Head {
                indent,
                join: false,
                text: &header,
                open,
            },
            &block.statements,
            |s| s.span,
            |p, s, indent| p.sync_statement(&s.node, indent),
        );
    }

    fn sync_statement(&mut self, statement: &SyncStatement, indent: usize) {
        let e = &self.exprs;
        let text = match statement {
            SyncStatement::Link {
                left,
                direction,
                right,
            } => {
                format!(
                    "link {} {} {}",
                    e.expr(left),
                    direction.node.arrow(),
                    e.expr(right)
                )
            }
            SyncStatement::Match { condition, suggest } => {
                let suggest = if *suggest { " suggest" } else { "" };
                format!("match {}{suggest}", e.expr(condition))
            }
            SyncStatement::Create { target, trigger } => {
                format!(
                    "create {} when {}",
                    e.ident(target),
                    self.trigger(&trigger.node)
                )
            }
            SyncStatement::Hold { field, value } => {
                format!("hold {} = {} while linked", e.postfix(field), e.expr(value))
            }
            SyncStatement::Require { fields } => {
                let fields: Vec<String> = fields.iter().map(|f| e.postfix(f)).collect();
                format!("require {} before create", fields.join(", "))
            }
            SyncStatement::Conflict(ConflictPolicy::Newest) => "conflict newest".to_string(),
            SyncStatement::Conflict(ConflictPolicy::Prefer { system }) => {
                format!("conflict prefer {}", e.ident(system))
            }
            SyncStatement::OnDelete(policy) => format!("on delete {}", e.ident(policy)),
            SyncStatement::Mapping {
                left,
                direction,
                right,
            } => {
                format!(
                    "{} {} {}",
                    e.expr(left),
                    direction.node.arrow(),
                    e.expr(right)
                )
            }
        };
        self.push(indent, text);
    }

    /// `created`, `created and …`, or a condition.
    fn trigger(&self, trigger: &Trigger) -> String {
        match trigger {
            Trigger::Event { event, condition } => {
                let word = match event.node {
                    Event::Created => "created",
                    Event::Requested => "requested",
                    Event::Deleted => "deleted",
                    Event::Any => "any",
                };
                match condition {
                    Some(c) => format!("{word} and {}", self.exprs.expr(c)),
                    None => word.to_string(),
                }
            }
            Trigger::Condition(c) => self.exprs.expr(c),
        }
    }

    // ───────────────────────────── flow ──────────────────────────────

    fn flow_block(&mut self, block: &FlowBlock, indent: usize) {
        let header = format!("flow {}", self.exprs.ident(&block.name));
        let open = self.find_code(self.code_end(block.name.span), b'{');
        self.statements(indent, false, &header, open, &block.statements);
    }

    /// `header {` statements `}`; returns the offset of the `}`.
    fn statements(
        &mut self,
        indent: usize,
        join: bool,
        header: &str,
        open: usize,
        statements: &[Spanned<Statement>],
    ) -> usize {
        self.braced(
            Head {
                indent,
                join,
                text: header,
                open,
            },
            statements,
            |s| s.span,
            |p, s, indent| p.statement(s, indent, false, ""),
        )
    }

    /// A body after the header ending at `from`. An `optional` body (of `ensure` and
    /// `credit`) that is empty is left out. Returns where the statement's text continues.
    fn body(
        &mut self,
        indent: usize,
        join: bool,
        header: &str,
        from: usize,
        statements: &[Spanned<Statement>],
        optional: bool,
    ) -> usize {
        let open = self.open_brace(from);
        if optional && statements.is_empty() {
            let has_comments = open.is_some_and(|o| {
                let close = self.find_code(o + 1, b'}');
                self.has_comments(o + 1, close)
            });
            if !has_comments {
                self.start(indent, join, header);
                return from;
            }
        }
        self.statements(indent, join, header, open.unwrap_or(from), statements)
    }

    /// One statement; `join` continues the last line and `prefix` comes before it (for
    /// `let x = …` and `else when …`).
    fn statement(
        &mut self,
        statement: &Spanned<Statement>,
        indent: usize,
        join: bool,
        prefix: &str,
    ) {
        let e = &self.exprs;
        let text = match &statement.node {
            Statement::On { source, trigger } => match trigger {
                Some(t) => format!("on {} when {}", e.entity(source), self.trigger(&t.node)),
                None => format!("on {}", e.entity(source)),
            },
            Statement::Since(x) => format!("since {}", e.expr(x)),
            Statement::Schedule(Schedule::Every(x)) => format!("schedule every {}", e.expr(x)),
            Statement::Schedule(Schedule::Cron(x)) => format!("schedule cron {}", e.expr(x)),
            Statement::Amend(mode) => format!("amend {}", e.ident(mode)),
            Statement::Let { name, value } => {
                let prefix = format!("{prefix}let {} = ", e.ident(name));
                return self.statement(value, indent, join, &prefix);
            }
            Statement::Value(x) => e.expr(x),
            Statement::Require { condition, message } => {
                format!("require {} else {}", e.expr(condition), e.expr(message))
            }
            Statement::Settle(x) => format!("settle {}", e.expr(x)),
            Statement::Attach(x) => format!("attach {}", e.expr(x)),
            Statement::Assign { field, value } => format!("{} = {}", e.ident(field), e.expr(value)),
            Statement::Write(write) => return self.write(write, indent, join, prefix),
            Statement::Split {
                amount,
                plan,
                part,
                body,
            } => {
                let header = format!(
                    "{prefix}split {} by {} as {}",
                    e.expr(amount),
                    e.expr(plan),
                    e.ident(part)
                );
                self.body(indent, join, &header, self.code_end(part.span), body, false);
                return;
            }
            Statement::When {
                condition,
                then,
                otherwise,
            } => {
                return self.when(condition, then, otherwise.as_deref(), indent, join, prefix);
            }
            Statement::Line(body) => {
                let from = statement.span.start + "line".len();
                self.body(indent, join, &format!("{prefix}line"), from, body, false);
                return;
            }
            Statement::LinesFor { item, list, body } => {
                let header = format!("{prefix}lines for {} in {}", e.ident(item), e.expr(list));
                self.body(indent, join, &header, self.code_end(list.span), body, false);
                return;
            }
            Statement::LinesGroup {
                list,
                key,
                group,
                body,
            } => {
                let header = format!(
                    "{prefix}lines group {} by {} as {}",
                    e.expr(list),
                    e.ident(key),
                    e.ident(group)
                );
                self.body(
                    indent,
                    join,
                    &header,
                    self.code_end(group.span),
                    body,
                    false,
                );
                return;
            }
        };
        self.start(indent, join, format!("{prefix}{text}"));
    }

    /// `upsert`, `ensure`, `create`, `credit` or `post` of a document.
    fn write(&mut self, write: &Write, indent: usize, join: bool, prefix: &str) {
        let e = &self.exprs;
        let mut header = format!(
            "{prefix}{} {}",
            write.kind.node.keyword(),
            e.entity(&write.target)
        );
        let mut last = write.target.span;
        if !write.keys.is_empty() {
            let keys: Vec<String> = write
                .keys
                .iter()
                .map(|k| format!("{} == {}", e.ident(&k.field), e.expr(&k.value)))
                .collect();
            header.push_str(" by ");
            header.push_str(&keys.join(" and "));
            last = write.keys.iter().map(|k| k.value.span).fold(last, max_end);
        }
        if let Some(credit_for) = &write.credit_for {
            header.push_str(" for ");
            header.push_str(&e.expr(credit_for));
            last = max_end(last, credit_for.span);
        }
        if let Some(destination) = &write.destination {
            header.push_str(" to ");
            header.push_str(&self.destination(&destination.node));
            last = max_end(last, destination.span);
        }
        let optional = matches!(write.kind.node, WriteKind::Ensure | WriteKind::Credit);
        self.body(
            indent,
            join,
            &header,
            self.code_end(last),
            &write.body,
            optional,
        );
    }

    /// `ledger`, `inbox`, `if c then … else …` or an expression.
    fn destination(&self, destination: &Destination) -> String {
        match destination {
            Destination::Word(word) => word.node.clone(),
            Destination::If {
                condition,
                then,
                otherwise,
            } => format!(
                "if {} then {} else {}",
                self.exprs.expr(condition),
                self.destination(&then.node),
                self.destination(&otherwise.node)
            ),
            Destination::Expr(x) => self.exprs.expr(x),
        }
    }

    /// `when c {` … `} else when d {` … `} else {` … `}`. An `else` holding only a `when`
    /// keeps the form it was written in (`else when` or `else { when … }`).
    fn when(
        &mut self,
        condition: &Expr,
        then: &[Spanned<Statement>],
        otherwise: Option<&[Spanned<Statement>]>,
        indent: usize,
        join: bool,
        prefix: &str,
    ) {
        let header = format!("{prefix}when {}", self.exprs.expr(condition));
        let close = self.body(
            indent,
            join,
            &header,
            self.code_end(condition.span),
            then,
            false,
        );
        let Some(otherwise) = otherwise else {
            return;
        };
        // After the `}`: `else`, then `when …` or `{`.
        let after_else = self
            .next_code(close + 1)
            .map_or(close + 1, |i| i + "else".len());
        let written_as_block = self.open_brace(after_else).is_some();
        match otherwise {
            [nested] if !written_as_block && matches!(nested.node, Statement::When { .. }) => {
                self.statement(nested, indent, true, " else ");
            }
            _ => {
                self.body(indent, true, " else", after_else, otherwise, false);
            }
        }
    }

    // ───────────────────────────── view ──────────────────────────────

    fn view_block(&mut self, view: &ViewBlock, indent: usize) {
        let e = &self.exprs;
        let header = format!(
            "view {} for {}",
            e.ident(&view.name),
            e.entity(&view.subject)
        );
        let open = self.find_code(self.code_end(view.subject.span), b'{');
        let mut clauses: Vec<Clause<'_>> = view
            .clause_spans
            .iter()
            .map(|(name, span)| Clause {
                name,
                span: *span,
                all: false,
            })
            .collect();
        if clauses.is_empty() {
            let here = Span::new(open + 1, open + 1);
            let present = [
                ("from", view.from.is_some()),
                ("columns", !view.columns.is_empty()),
                ("order by", !view.order.is_empty()),
            ];
            clauses = present
                .into_iter()
                .filter(|(_, present)| *present)
                .map(|(name, _)| Clause {
                    name,
                    span: here,
                    all: true,
                })
                .collect();
        }
        self.braced(
            Head {
                indent,
                join: false,
                text: &header,
                open,
            },
            &clauses,
            |c| c.span,
            |p, c, indent| p.view_clause(view, c, indent),
        );
    }

    fn view_clause(&mut self, view: &ViewBlock, clause: &Clause<'_>, indent: usize) {
        let e = &self.exprs;
        let text = match clause.name {
            "from" => match &view.from {
                Some(from) if clause.holds(from.span) => match &view.filter {
                    Some(filter) => format!("from {} where {}", e.entity(from), e.expr(filter)),
                    None => format!("from {}", e.entity(from)),
                },
                // A repeated `from`: the tree holds only the last one.
                _ => self.raw_code(clause.span),
            },
            "columns" => {
                let columns: Vec<String> = view
                    .columns
                    .iter()
                    .filter(|c| clause.holds(c.name.span))
                    .map(|c| match &c.value {
                        Some(value) => format!("{} = {}", e.ident(&c.name), e.expr(value)),
                        None => e.ident(&c.name),
                    })
                    .collect();
                if columns.is_empty() {
                    self.raw_code(clause.span)
                } else {
                    format!("columns {}", columns.join(", "))
                }
            }
            "order by" => {
                let keys: Vec<String> = view
                    .order
                    .iter()
                    .filter(|k| clause.holds(k.column.span))
                    .map(|k| {
                        let column = e.ident(&k.column);
                        if k.descending {
                            format!("{column} desc")
                        } else {
                            column
                        }
                    })
                    .collect();
                if keys.is_empty() {
                    self.raw_code(clause.span)
                } else {
                    format!("order by {}", keys.join(", "))
                }
            }
            _ => self.raw_code(clause.span),
        };
        self.push(indent, text);
    }

    // ───────────────────────────── table ─────────────────────────────

    fn table_block(&mut self, table: &TableBlock, indent: usize) {
        let name = self.exprs.ident(&table.name);
        match &table.source {
            TableSource::Inline { entries } => {
                let header = format!("table {name}");
                let open = self.find_code(self.code_end(table.name.span), b'{');
                self.braced(
                    Head {
                        indent,
                        join: false,
                        text: &header,
                        open,
                    },
                    entries,
                    |e| e.span,
                    |p, entry, indent| {
                        let keys: Vec<String> = entry
                            .node
                            .keys
                            .iter()
                            .map(|k| match &k.node {
                                TableKey::Wildcard => "_".to_string(),
                                TableKey::Literal(l) => super::expr::literal_text(l),
                            })
                            .collect();
                        let text = format!(
                            "{} => {}",
                            keys.join(" | "),
                            p.exprs.expr(&entry.node.value)
                        );
                        p.push(indent, text);
                    },
                );
            }
            TableSource::Csv { path, key, value } => {
                let raw = self.raw_code(path.span);
                // A path with `{…}` in it is kept as written: the tree holds it as empty.
                let path = if path.node.is_empty() && raw.len() > 2 && raw.starts_with('"') {
                    raw
                } else {
                    super::expr::string_text(&path.node)
                };
                let mut text = format!("table {name} = csv {path}");
                if let Some(key) = key {
                    text.push_str(&format!(" key {}", self.exprs.ident(key)));
                }
                if let Some(value) = value {
                    text.push_str(&format!(" value {}", self.exprs.ident(value)));
                }
                self.push(indent, text);
            }
        }
    }
}

/// The span of the two that ends later.
fn max_end(a: Span, b: Span) -> Span {
    if b.end > a.end {
        b
    } else {
        a
    }
}
