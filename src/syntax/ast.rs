//! The abstract syntax tree of a rule file: owned types, every node carrying its byte span.
//!
//! This is the only contract between `syntax` and the later stages; nothing outside
//! `syntax` sees pest's pairs.

use serde::Serialize;

use crate::source::Span;

/// A node together with the bytes of the source it came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Spanned<T> {
    /// The node itself.
    pub node: T,
    /// Where it was written.
    pub span: Span,
}

impl<T> Spanned<T> {
    /// Wraps `node` with `span`.
    pub fn new(node: T, span: Span) -> Self {
        Spanned { node, span }
    }
}

/// A name as written, e.g. `Name` or `` `Field name` `` (stored without backticks).
pub type Ident = Spanned<String>;

/// A parsed rule file.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Ast {
    /// The blocks in source order.
    pub items: Vec<Item>,
}

/// A top-level block.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Item {
    /// `sync name: a.X <-> b.Y { … }`
    Sync(Spanned<SyncBlock>),
    /// `flow name { … }`
    Flow(Spanned<FlowBlock>),
    /// `view name for a.X { … }`
    View(Spanned<ViewBlock>),
    /// `table name { … }` or `table name = csv "…"`
    Table(Spanned<TableBlock>),
}

impl Item {
    /// The span of the whole block.
    pub fn span(&self) -> Span {
        match self {
            Item::Sync(s) => s.span,
            Item::Flow(f) => f.span,
            Item::View(v) => v.span,
            Item::Table(t) => t.span,
        }
    }

    /// The block's name.
    pub fn name(&self) -> &Ident {
        match self {
            Item::Sync(s) => &s.node.name,
            Item::Flow(f) => &f.node.name,
            Item::View(v) => &v.node.name,
            Item::Table(t) => &t.node.name,
        }
    }
}

/// `crm.Organisation`: a system alias and one of its entities.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EntityRef {
    /// The system alias from `ledgerlink.yaml`.
    pub system: Ident,
    /// The entity name from the system's connector profile.
    pub entity: Ident,
}

// ───────────────────────────── sync ──────────────────────────────

/// A `sync` block: keeps two entities in step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SyncBlock {
    /// The block's name.
    pub name: Ident,
    /// The left entity.
    pub left: Spanned<EntityRef>,
    /// The right entity.
    pub right: Spanned<EntityRef>,
    /// Statements in source order.
    pub statements: Vec<Spanned<SyncStatement>>,
}

/// Direction of a mapping arrow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// `<->`
    Both,
    /// `->`
    LeftToRight,
    /// `<-`
    RightToLeft,
}

impl Direction {
    /// The arrow as written.
    pub fn arrow(self) -> &'static str {
        match self {
            Direction::Both => "<->",
            Direction::LeftToRight => "->",
            Direction::RightToLeft => "<-",
        }
    }
}

/// A statement inside a `sync` block.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum SyncStatement {
    /// `link crm.ErpNumber <- erp.Account`
    Link {
        /// Left side.
        left: Expr,
        /// The arrow.
        direction: Spanned<Direction>,
        /// Right side.
        right: Expr,
    },
    /// `match a == b` or `match similar(a, b) >= 0.85 suggest`
    Match {
        /// The condition that pairs two records.
        condition: Expr,
        /// `suggest`: a fuzzy match that only proposes links.
        suggest: bool,
    },
    /// `create erp when …`
    Create {
        /// The system alias records are created in.
        target: Ident,
        /// When to create.
        trigger: Spanned<Trigger>,
    },
    /// `hold crm.Type = "Customer" while linked`
    Hold {
        /// The field that is held.
        field: Expr,
        /// The value it is held at.
        value: Expr,
    },
    /// `require crm.Name, crm.City before create`
    Require {
        /// Fields that must be filled.
        fields: Vec<Expr>,
    },
    /// `conflict newest` / `conflict prefer erp`
    Conflict(ConflictPolicy),
    /// `on delete unlink`
    OnDelete(Ident),
    /// `a <-> b`, `expr -> b`, `a <- expr`
    Mapping {
        /// Left side.
        left: Expr,
        /// The arrow.
        direction: Spanned<Direction>,
        /// Right side.
        right: Expr,
    },
}

/// How a conflict (both sides changed) is decided.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "policy", content = "value", rename_all = "snake_case")]
pub enum ConflictPolicy {
    /// The most recently changed side wins.
    Newest,
    /// The named system wins.
    Prefer {
        /// System alias.
        system: Ident,
    },
}

/// When a record is created or a flow fires.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Trigger {
    /// `created`, `requested`, `deleted`, `any`, optionally `and <condition>`.
    Event {
        /// The event word.
        event: Spanned<Event>,
        /// An extra condition.
        condition: Option<Expr>,
    },
    /// A condition, usually with `becomes` or `changed`.
    Condition(Expr),
}

/// A record event word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    /// First seen.
    Created,
    /// Asked for by a person (CLI, dashboard, HTTP).
    Requested,
    /// Gone from the source.
    Deleted,
    /// Any change.
    Any,
}

// ───────────────────────────── flow ──────────────────────────────

/// A `flow` block: turns an event into documents.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FlowBlock {
    /// The flow's name.
    pub name: Ident,
    /// Statements in source order.
    pub statements: Vec<Spanned<Statement>>,
}

/// How a `post` picks where the voucher goes.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Destination {
    /// `ledger` or `inbox`.
    Word(Ident),
    /// `if cond then … else …`
    If {
        /// The condition.
        condition: Expr,
        /// When true.
        then: Box<Spanned<Destination>>,
        /// When false.
        otherwise: Box<Spanned<Destination>>,
    },
    /// An expression that yields "ledger" or "inbox" at run time.
    Expr(Expr),
}

/// A statement inside a flow or a document body.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Statement {
    /// `on shop.Order when …`
    On {
        /// The source entity.
        source: Spanned<EntityRef>,
        /// When the flow fires; without one it fires on every new record.
        trigger: Option<Spanned<Trigger>>,
    },
    /// `since settings.from_date`
    Since(Expr),
    /// `schedule every 24h` / `schedule cron "…"`
    Schedule(Schedule),
    /// `amend ignore | update | credit_and_reissue`
    Amend(Ident),
    /// `let name = …`
    Let {
        /// The bound name.
        name: Ident,
        /// What it is bound to.
        value: Box<Spanned<Statement>>,
    },
    /// A plain expression as the value of a `let`.
    Value(Expr),
    /// `upsert` / `ensure` / `create` / `credit` / `post` of a document.
    Write(Write),
    /// `split amount by plan as part { … }`
    Split {
        /// The amount to split.
        amount: Expr,
        /// The payment plan.
        plan: Expr,
        /// The name of the part inside the body.
        part: Ident,
        /// Statements run once per part.
        body: Vec<Spanned<Statement>>,
    },
    /// `when cond { … } else …`
    When {
        /// The condition.
        condition: Expr,
        /// Statements when true.
        then: Vec<Spanned<Statement>>,
        /// Statements when false (an `else when` is a nested `When`).
        otherwise: Option<Vec<Spanned<Statement>>>,
    },
    /// `require cond else "message"`
    Require {
        /// What must hold.
        condition: Expr,
        /// What the export log says when it does not.
        message: Expr,
    },
    /// `settle invoices`
    Settle(Expr),
    /// `attach duell.ZReport.Pdf`
    Attach(Expr),
    /// `line { … }`
    Line(Vec<Spanned<Statement>>),
    /// `lines for t in list { … }`
    LinesFor {
        /// The loop variable.
        item: Ident,
        /// The list.
        list: Expr,
        /// One line per item.
        body: Vec<Spanned<Statement>>,
    },
    /// `lines group list by Field as g { … }`
    LinesGroup {
        /// The list of lines.
        list: Expr,
        /// The field to group by.
        key: Ident,
        /// The name of the group inside the body.
        group: Ident,
        /// One line per group.
        body: Vec<Spanned<Statement>>,
    },
    /// `Field = expr`
    Assign {
        /// The target field.
        field: Ident,
        /// Its value.
        value: Expr,
    },
}

/// A schedule clause.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Schedule {
    /// `every 24h`
    Every(Expr),
    /// `cron "0 6 * * *"`
    Cron(Expr),
}

/// Which kind of write a document statement is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WriteKind {
    /// Find by key, create if missing, update otherwise.
    Upsert,
    /// Find by key, create if missing, never update.
    Ensure,
    /// Create once per source event.
    Create,
    /// Credit the document a source record produced.
    Credit,
    /// Post a voucher to the ledger or the approval inbox.
    Post,
}

impl WriteKind {
    /// The keyword.
    pub fn keyword(self) -> &'static str {
        match self {
            WriteKind::Upsert => "upsert",
            WriteKind::Ensure => "ensure",
            WriteKind::Create => "create",
            WriteKind::Credit => "credit",
            WriteKind::Post => "post",
        }
    }
}

/// A document write.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Write {
    /// upsert, ensure, create, credit or post.
    pub kind: Spanned<WriteKind>,
    /// The target entity.
    pub target: Spanned<EntityRef>,
    /// `by Field == expr and …` for upsert and ensure.
    pub keys: Vec<KeyEq>,
    /// `for expr` of a credit.
    pub credit_for: Option<Expr>,
    /// `to …` of a post.
    pub destination: Option<Spanned<Destination>>,
    /// The document body.
    pub body: Vec<Spanned<Statement>>,
}

/// `Field == expr` in a `by` clause.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KeyEq {
    /// The target field.
    pub field: Ident,
    /// Its value.
    pub value: Expr,
}

// ───────────────────────────── view ──────────────────────────────

/// A `view` block: target data served read-through for a source record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ViewBlock {
    /// The view's name.
    pub name: Ident,
    /// The record the view is shown for.
    pub subject: Spanned<EntityRef>,
    /// `from erp.OpenItem where …`
    pub from: Option<Spanned<EntityRef>>,
    /// The `where` of `from`.
    pub filter: Option<Expr>,
    /// The columns shown.
    pub columns: Vec<ViewColumn>,
    /// Sort keys.
    pub order: Vec<OrderKey>,
    /// Span of every clause, for duplicate-clause diagnostics.
    pub clause_spans: Vec<(String, Span)>,
}

/// A column of a view.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ViewColumn {
    /// The column name (a field of `from` when there is no expression).
    pub name: Ident,
    /// A computed value.
    pub value: Option<Expr>,
}

/// A sort key.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OrderKey {
    /// The column.
    pub column: Ident,
    /// Descending?
    pub descending: bool,
}

// ───────────────────────────── table ─────────────────────────────

/// A lookup table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TableBlock {
    /// The table's name.
    pub name: Ident,
    /// Where its rows come from.
    pub source: TableSource,
}

/// Rows written inline or read from a CSV file.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum TableSource {
    /// `{ "DK" => "U25", _ => "EXP" }`
    Inline {
        /// The entries in order.
        entries: Vec<Spanned<TableEntry>>,
    },
    /// `csv "tables/accounts.csv" key Kind value Account`
    Csv {
        /// The file, relative to the project.
        path: Spanned<String>,
        /// The key column (default: the first).
        key: Option<Ident>,
        /// The value column (default: the second).
        value: Option<Ident>,
    },
}

/// `"SE" | "NO" => "EU"`
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TableEntry {
    /// The keys (a `_` key is the default).
    pub keys: Vec<Spanned<TableKey>>,
    /// The value.
    pub value: Expr,
}

/// A key of a table entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum TableKey {
    /// `_`: every other key.
    Wildcard,
    /// A literal key.
    Literal(Literal),
}

// ────────────────────────── expressions ──────────────────────────

/// An expression.
pub type Expr = Spanned<ExprKind>;

/// The kinds of expression.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum ExprKind {
    /// A literal value.
    Literal(Literal),
    /// A string with `{expr}` parts.
    Interpolated(Vec<InterpolationPart>),
    /// `a.b.c`: a name followed by fields.
    Path(Vec<Ident>),
    /// `(expr).field` where the base is not a plain path.
    Member {
        /// The base.
        base: Box<Expr>,
        /// The field.
        field: Ident,
    },
    /// `base[index]`: a table lookup or a custom field.
    Index {
        /// The base.
        base: Box<Expr>,
        /// The index.
        index: Box<Expr>,
    },
    /// `f(args)` or `receiver.method(args)`.
    Call {
        /// The receiver of a method call (`part` in `part.share(x)`).
        receiver: Option<Box<Expr>>,
        /// The function or method name.
        function: Ident,
        /// The arguments.
        args: Vec<Expr>,
    },
    /// `-x`, `not x`
    Unary {
        /// The operator.
        op: UnaryOp,
        /// The operand.
        operand: Box<Expr>,
    },
    /// `a + b`, `a == b`, `a and b`, `a ?? b`, …
    Binary {
        /// The operator.
        op: Spanned<BinaryOp>,
        /// Left operand.
        left: Box<Expr>,
        /// Right operand.
        right: Box<Expr>,
    },
    /// `x becomes v` (trigger predicate).
    Becomes {
        /// The observed field.
        field: Box<Expr>,
        /// The value it becomes.
        value: Box<Expr>,
    },
    /// `x changed` (trigger predicate).
    Changed(Box<Expr>),
    /// `if c then a else b`
    If {
        /// Condition.
        condition: Box<Expr>,
        /// Value when true.
        then: Box<Expr>,
        /// Value when false.
        otherwise: Box<Expr>,
    },
    /// `[a, b]`
    List(Vec<Expr>),
    /// `{ share: 20%, label: "x" }`
    Record(Vec<(Ident, Expr)>),
    /// `exists sys.Entity where …`
    Exists {
        /// The entity searched.
        entity: Spanned<EntityRef>,
        /// The filter.
        filter: Option<Box<Expr>>,
    },
    /// `find sys.Entity where …`
    Find {
        /// The entity searched.
        entity: Spanned<EntityRef>,
        /// The filter.
        filter: Option<Box<Expr>>,
    },
    /// `(expr)`, kept so `fmt` can print the parentheses.
    Group(Box<Expr>),
}

/// A piece of an interpolated string.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum InterpolationPart {
    /// Literal text (escapes resolved).
    Text(String),
    /// `{expr}`
    Expr(Expr),
}

/// A literal value; numbers stay exact decimals.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum Literal {
    /// Text.
    Text(String),
    /// An exact decimal as written.
    Number(rust_decimal::Decimal),
    /// `20%`, stored as the number before the `%`.
    Percent(rust_decimal::Decimal),
    /// `24h`, stored as written.
    Duration(String),
    /// `2026-01-01`
    Date(String),
    /// `true` / `false`
    Bool(bool),
    /// `null`
    Null,
}

/// Unary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UnaryOp {
    /// `-`
    Neg,
    /// `not`
    Not,
}

/// Binary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BinaryOp {
    /// `or`
    Or,
    /// `and`
    And,
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `in`
    In,
    /// `not in`
    NotIn,
    /// `??`
    Coalesce,
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
}

impl BinaryOp {
    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Or => "or",
            BinaryOp::And => "and",
            BinaryOp::Eq => "==",
            BinaryOp::Ne => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            BinaryOp::In => "in",
            BinaryOp::NotIn => "not in",
            BinaryOp::Coalesce => "??",
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
        }
    }

    /// Binding strength: higher binds tighter (used by `fmt` to decide on parentheses).
    pub fn precedence(self) -> u8 {
        match self {
            BinaryOp::Or => 1,
            BinaryOp::And => 2,
            BinaryOp::Eq
            | BinaryOp::Ne
            | BinaryOp::Lt
            | BinaryOp::Le
            | BinaryOp::Gt
            | BinaryOp::Ge
            | BinaryOp::In
            | BinaryOp::NotIn => 3,
            BinaryOp::Coalesce => 4,
            BinaryOp::Add | BinaryOp::Sub => 5,
            BinaryOp::Mul | BinaryOp::Div => 6,
        }
    }
}
