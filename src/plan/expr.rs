//! Plan expressions: the AST's expressions with every name resolved and spans dropped.

use serde::Serialize;

use super::EntityRef;
use crate::syntax::ast::{BinaryOp, Literal, UnaryOp};

/// A resolved expression.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PlanExpr {
    /// A literal.
    Literal {
        /// The value.
        value: Literal,
    },
    /// Interpolated text: literal parts and expressions.
    Text {
        /// The parts.
        parts: Vec<PlanExpr>,
    },
    /// A `let`, split part, loop item or group, then fields.
    Var {
        /// Variable name.
        name: String,
        /// Fields below it.
        path: Vec<String>,
    },
    /// `settings.key…`
    Setting {
        /// Setting key.
        key: String,
        /// Fields below it.
        path: Vec<String>,
    },
    /// The flow's or view's record, then fields.
    Record {
        /// Fields.
        path: Vec<String>,
    },
    /// A field of one side of a sync.
    Side {
        /// System alias.
        system: String,
        /// Fields.
        path: Vec<String>,
    },
    /// A field of the entity in scope (a `where`, `by` or trigger clause).
    Field {
        /// Fields.
        path: Vec<String>,
    },
    /// `table[key]`
    Lookup {
        /// Table name.
        table: String,
        /// Key.
        key: Box<PlanExpr>,
    },
    /// `base[index]` of a list or custom fields.
    Index {
        /// Base.
        base: Box<PlanExpr>,
        /// Index.
        index: Box<PlanExpr>,
    },
    /// `(expr).field`
    Member {
        /// Base.
        base: Box<PlanExpr>,
        /// Field.
        field: String,
    },
    /// A standard-library call.
    Call {
        /// Function.
        function: String,
        /// Arguments.
        args: Vec<PlanExpr>,
    },
    /// A method call (`part.share(x)`).
    Method {
        /// Receiver.
        receiver: Box<PlanExpr>,
        /// Method.
        method: String,
        /// Arguments.
        args: Vec<PlanExpr>,
    },
    /// `-x`, `not x`
    Unary {
        /// Operator.
        op: UnaryOp,
        /// Operand.
        operand: Box<PlanExpr>,
    },
    /// `a op b`
    Binary {
        /// Operator.
        op: BinaryOp,
        /// Left.
        left: Box<PlanExpr>,
        /// Right.
        right: Box<PlanExpr>,
    },
    /// `field becomes value`
    Becomes {
        /// Field.
        field: Box<PlanExpr>,
        /// Value.
        value: Box<PlanExpr>,
    },
    /// `field changed`
    Changed {
        /// Field.
        field: Box<PlanExpr>,
    },
    /// `if c then a else b`
    If {
        /// Condition.
        condition: Box<PlanExpr>,
        /// When true.
        then: Box<PlanExpr>,
        /// When false.
        otherwise: Box<PlanExpr>,
    },
    /// `[a, b]`
    List {
        /// Items.
        items: Vec<PlanExpr>,
    },
    /// `{ a: 1 }`
    RecordLiteral {
        /// Fields.
        fields: Vec<(String, PlanExpr)>,
    },
    /// `exists e where …`
    Exists {
        /// Entity.
        entity: EntityRef,
        /// Filter over its fields.
        filter: Option<Box<PlanExpr>>,
    },
    /// `find e where …`
    Find {
        /// Entity.
        entity: EntityRef,
        /// Filter over its fields.
        filter: Option<Box<PlanExpr>>,
    },
}
