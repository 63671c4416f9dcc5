//! Small traversals of the AST shared by the lint rules.

use std::sync::Arc;

use crate::{
    project::Project,
    source::SourceFile,
    syntax::ast::{
        Direction, EntityRef, Expr, ExprKind, FlowBlock, Ident, InterpolationPart, Item, Spanned,
        Statement, SyncBlock, SyncStatement, Write,
    },
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

/// The sides a sync mapping or link writes: the right of `->`, the left of `<-`, both of `<->`.
pub fn written_sides(statement: &SyncStatement) -> Vec<&Expr> {
    let (SyncStatement::Mapping {
        left,
        direction,
        right,
    }
    | SyncStatement::Link {
        left,
        direction,
        right,
    }) = statement
    else {
        return Vec::new();
    };
    match direction.node {
        Direction::LeftToRight => vec![right],
        Direction::RightToLeft => vec![left],
        Direction::Both => vec![left, right],
    }
}

/// The `(alias, Field)` a sync side names; `alias.custom[…]` names the field `custom`.
pub fn side_field(side: &Expr) -> Option<(&str, &str)> {
    let path = match &side.node {
        ExprKind::Index { base, .. } => &base.node,
        other => other,
    };
    match path {
        ExprKind::Path(segments) => match segments.as_slice() {
            [alias, field] => Some((alias.node.as_str(), field.node.as_str())),
            _ => None,
        },
        _ => None,
    }
}

/// Fields of side `alias` that a sync's mappings and links write.
pub fn fields_written_into<'a>(
    statements: &'a [Spanned<SyncStatement>],
    alias: &str,
) -> Vec<&'a str> {
    statements
        .iter()
        .flat_map(|s| written_sides(&s.node))
        .filter_map(side_field)
        .filter(|(a, _)| *a == alias)
        .map(|(_, field)| field)
        .collect()
}

/// For `create SIDE when …` in a sync: the created side and the other side.
pub fn create_sides<'a>(
    sync: &'a SyncBlock,
    target: &str,
) -> Option<(&'a EntityRef, &'a EntityRef)> {
    let (left, right) = (&sync.left.node, &sync.right.node);
    if left.system.node == target {
        Some((left, right))
    } else if right.system.node == target {
        Some((right, left))
    } else {
        None
    }
}

/// Does the expression call the function `name` anywhere?
pub fn calls(expr: &Expr, name: &str) -> bool {
    let any = |items: &[Expr]| items.iter().any(|e| calls(e, name));
    match &expr.node {
        ExprKind::Call {
            receiver,
            function,
            args,
        } => {
            (receiver.is_none() && function.node == name)
                || receiver.as_deref().is_some_and(|r| calls(r, name))
                || any(args)
        }
        ExprKind::Literal(_) | ExprKind::Path(_) => false,
        ExprKind::Interpolated(parts) => parts
            .iter()
            .any(|p| matches!(p, InterpolationPart::Expr(e) if calls(e, name))),
        ExprKind::Member { base, .. } | ExprKind::Changed(base) | ExprKind::Group(base) => {
            calls(base, name)
        }
        ExprKind::Unary { operand, .. } => calls(operand, name),
        ExprKind::Index { base: a, index: b }
        | ExprKind::Binary {
            left: a, right: b, ..
        }
        | ExprKind::Becomes { field: a, value: b } => calls(a, name) || calls(b, name),
        ExprKind::If {
            condition,
            then,
            otherwise,
        } => calls(condition, name) || calls(then, name) || calls(otherwise, name),
        ExprKind::List(items) => any(items),
        ExprKind::Record(fields) => fields.iter().any(|(_, v)| calls(v, name)),
        ExprKind::Exists { filter, .. } | ExprKind::Find { filter, .. } => {
            filter.as_deref().is_some_and(|f| calls(f, name))
        }
    }
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
