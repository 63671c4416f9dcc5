//! Small traversals of the AST shared by the lint rules.

use std::sync::Arc;

use crate::{
    project::Project,
    source::SourceFile,
    syntax::ast::{FlowBlock, Ident, Item, Spanned, Statement, SyncBlock, Write},
};

/// Every flow with its file.
pub fn flows(project: &Project) -> impl Iterator<Item = (&Arc<SourceFile>, &Spanned<FlowBlock>)> {
    project.rules.iter().flat_map(|r| {
        r.ast.items.iter().filter_map(move |i| match i {
            Item::Flow(f) => Some((&r.source, f)),
            _ => None,
        })
    })
}

/// Every sync with its file.
pub fn syncs(project: &Project) -> impl Iterator<Item = (&Arc<SourceFile>, &Spanned<SyncBlock>)> {
    project.rules.iter().flat_map(|r| {
        r.ast.items.iter().filter_map(move |i| match i {
            Item::Sync(s) => Some((&r.source, s)),
            _ => None,
        })
    })
}

/// Visits every statement, depth first, including document and line bodies.
pub fn statements<'a>(
    list: &'a [Spanned<Statement>],
    visit: &mut impl FnMut(&'a Spanned<Statement>),
) {
    for statement in list {
        visit(statement);
        for body in bodies(&statement.node) {
            statements(body, visit);
        }
    }
}

/// The nested statement lists of a statement.
pub fn bodies(statement: &Statement) -> Vec<&[Spanned<Statement>]> {
    match statement {
        Statement::Let { value, .. } => bodies(&value.node),
        Statement::Write(w) => vec![&w.body],
        Statement::Split { body, .. }
        | Statement::Line(body)
        | Statement::LinesFor { body, .. }
        | Statement::LinesGroup { body, .. } => {
            vec![body]
        }
        Statement::When {
            then, otherwise, ..
        } => {
            let mut v: Vec<&[Spanned<Statement>]> = vec![then];
            if let Some(o) = otherwise {
                v.push(o);
            }
            v
        }
        _ => Vec::new(),
    }
}

/// Every document write, including those bound by `let`.
pub fn writes<'a>(list: &'a [Spanned<Statement>], visit: &mut impl FnMut(&'a Write)) {
    statements(list, &mut |s| {
        if let Statement::Write(w) = &s.node {
            visit(w);
        }
    });
}

/// Fields a document body assigns directly (through `when` branches, not inside lines).
pub fn assigned(body: &[Spanned<Statement>]) -> Vec<&Ident> {
    let mut out = Vec::new();
    for statement in body {
        match &statement.node {
            Statement::Assign { field, .. } => out.push(field),
            Statement::When {
                then, otherwise, ..
            } => {
                out.extend(assigned(then));
                if let Some(o) = otherwise {
                    out.extend(assigned(o));
                }
            }
            _ => {}
        }
    }
    out
}

/// The bodies of the lines a document body makes (`line`, `lines for`, `lines group`).
pub fn line_bodies(
    body: &[Spanned<Statement>],
) -> Vec<(&Spanned<Statement>, &[Spanned<Statement>])> {
    let mut out = Vec::new();
    for statement in body {
        match &statement.node {
            Statement::Line(b)
            | Statement::LinesFor { body: b, .. }
            | Statement::LinesGroup { body: b, .. } => {
                out.push((statement, b.as_slice()));
            }
            Statement::When {
                then, otherwise, ..
            } => {
                out.extend(line_bodies(then));
                if let Some(o) = otherwise {
                    out.extend(line_bodies(o));
                }
            }
            _ => {}
        }
    }
    out
}
