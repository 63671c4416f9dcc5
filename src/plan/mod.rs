//! Plan: the compiled, serialisable execution plan of a checked project.
//!
//! `compile` lowers the syntax tree into explicit steps: every name is resolved to what it
//! is (a variable, a setting, the flow's record, a field of the entity in scope, a table),
//! spans are dropped, CSV tables are read in, and credentials appear only as references.
//! The plan is deterministic (source order, no hash maps) and versioned by [`PLAN_VERSION`].

mod expr;
mod lower;

use indexmap::IndexMap;
use serde::Serialize;

pub use expr::PlanExpr;
pub use lower::compile;

use crate::syntax::ast::{Literal, WriteKind};

/// Bumped whenever the plan's shape changes.
pub const PLAN_VERSION: u32 = 1;

/// A compiled project.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// Always `ledgerlink-plan`.
    pub format: &'static str,
    /// [`PLAN_VERSION`].
    pub version: u32,
    /// The project's name.
    pub project: Option<String>,
    /// State store URL.
    pub state: String,
    /// Systems in declaration order.
    pub systems: Vec<System>,
    /// Settings as JSON values.
    pub settings: IndexMap<String, serde_json::Value>,
    /// Lookup tables.
    pub tables: Vec<Table>,
    /// Two-way syncs.
    pub syncs: Vec<Sync>,
    /// Document flows.
    pub flows: Vec<Flow>,
    /// Read-through views.
    pub views: Vec<View>,
}

/// A system and how to reach it.
#[derive(Debug, Clone, Serialize)]
pub struct System {
    /// Alias used in the rules.
    pub alias: String,
    /// Connector profile name.
    pub connector: String,
    /// Options as JSON.
    pub options: IndexMap<String, serde_json::Value>,
    /// Credentials as `env:`/`file:` references; never values.
    pub credentials: IndexMap<String, String>,
}

/// `system.Entity`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EntityRef {
    /// System alias.
    pub system: String,
    /// Entity name.
    pub entity: String,
}

/// A lookup table with its rows.
#[derive(Debug, Clone, Serialize)]
pub struct Table {
    /// Name.
    pub name: String,
    /// The CSV file the rows came from, if any.
    pub source: Option<String>,
    /// Key → value rows in order.
    pub rows: Vec<(Literal, PlanExpr)>,
    /// The `_` row.
    pub default: Option<PlanExpr>,
}

/// A field mapping of a sync.
#[derive(Debug, Clone, Serialize)]
pub struct Mapping {
    /// Left side.
    pub left: PlanExpr,
    /// `both`, `left_to_right`, `right_to_left`.
    pub direction: crate::syntax::ast::Direction,
    /// Right side.
    pub right: PlanExpr,
}

/// A trigger.
#[derive(Debug, Clone, Serialize)]
pub struct Trigger {
    /// `created`, `requested`, `deleted`, `any`, or `condition`.
    pub event: String,
    /// The condition, with `becomes`/`changed` predicates.
    pub condition: Option<PlanExpr>,
}

/// A `sync` block.
#[derive(Debug, Clone, Serialize)]
pub struct Sync {
    /// Name.
    pub name: String,
    /// Left entity.
    pub left: EntityRef,
    /// Right entity.
    pub right: EntityRef,
    /// `link` rules.
    pub links: Vec<Mapping>,
    /// `match` rules: (condition, suggest only).
    pub matches: Vec<Match>,
    /// `create … when …` rules.
    pub creates: Vec<Create>,
    /// `hold` rules: (field, value).
    pub holds: Vec<Hold>,
    /// Fields that must be filled before creating.
    pub require: Vec<PlanExpr>,
    /// `newest` or `prefer:<alias>`.
    pub conflict: String,
    /// `ignore`, `unlink` (default) or `delete`.
    pub on_delete: String,
    /// Field mappings.
    pub fields: Vec<Mapping>,
}

/// A `match` rule.
#[derive(Debug, Clone, Serialize)]
pub struct Match {
    /// The pairing condition.
    pub condition: PlanExpr,
    /// Only propose links.
    pub suggest: bool,
}

/// A `create` rule of a sync.
#[derive(Debug, Clone, Serialize)]
pub struct Create {
    /// The side records are created in.
    pub target: String,
    /// When.
    pub trigger: Trigger,
}

/// A `hold` rule.
#[derive(Debug, Clone, Serialize)]
pub struct Hold {
    /// The held field.
    pub field: PlanExpr,
    /// Its value.
    pub value: PlanExpr,
}

/// A `flow` block.
#[derive(Debug, Clone, Serialize)]
pub struct Flow {
    /// Name.
    pub name: String,
    /// Source entity.
    pub source: Option<EntityRef>,
    /// When it fires (every new record when absent).
    pub trigger: Option<Trigger>,
    /// Records older than this are skipped.
    pub since: Option<PlanExpr>,
    /// `every:<duration>` or `cron:<spec>`.
    pub schedule: Option<PlanExpr>,
    /// `ignore` (default), `update` or `credit_and_reissue`.
    pub amend: String,
    /// The steps in order.
    pub steps: Vec<Step>,
}

/// A step of a flow or document body.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Step {
    /// Bind a value.
    Let {
        /// Name.
        name: String,
        /// An expression…
        value: Option<PlanExpr>,
        /// …or a document write.
        write: Option<Box<Step>>,
    },
    /// A document write.
    Write {
        /// Kind of write.
        kind: WriteKind,
        /// Target.
        target: EntityRef,
        /// `by` keys.
        keys: Vec<(String, PlanExpr)>,
        /// The credited source record.
        credit_for: Option<PlanExpr>,
        /// `ledger` / `inbox` / an expression.
        destination: Option<PlanExpr>,
        /// Field assignments and lines.
        body: Vec<Step>,
    },
    /// Split an amount by a plan.
    Split {
        /// Amount.
        amount: PlanExpr,
        /// Plan.
        plan: PlanExpr,
        /// Part name.
        part: String,
        /// Per-part steps.
        body: Vec<Step>,
    },
    /// Conditional steps.
    When {
        /// Condition.
        condition: PlanExpr,
        /// If true.
        then: Vec<Step>,
        /// If false.
        otherwise: Vec<Step>,
    },
    /// A prerequisite with its export-log message.
    Require {
        /// Condition.
        condition: PlanExpr,
        /// Message.
        message: PlanExpr,
    },
    /// Settle documents.
    Settle {
        /// What to settle.
        value: PlanExpr,
    },
    /// Attach a file.
    Attach {
        /// The file.
        value: PlanExpr,
    },
    /// One line.
    Line {
        /// Its fields.
        body: Vec<Step>,
    },
    /// A line per item.
    LinesFor {
        /// Loop variable.
        item: String,
        /// The list.
        list: PlanExpr,
        /// Line fields.
        body: Vec<Step>,
    },
    /// A line per group.
    LinesGroup {
        /// The list.
        list: PlanExpr,
        /// Group key field.
        key: String,
        /// Group variable.
        group: String,
        /// Line fields.
        body: Vec<Step>,
    },
    /// Set a field.
    Set {
        /// Field.
        field: String,
        /// Value.
        value: PlanExpr,
    },
}

/// A `view` block.
#[derive(Debug, Clone, Serialize)]
pub struct View {
    /// Name.
    pub name: String,
    /// The record it is shown for.
    pub subject: EntityRef,
    /// The entity read.
    pub from: Option<EntityRef>,
    /// Filter.
    pub filter: Option<PlanExpr>,
    /// Columns: name and optional computed value.
    pub columns: Vec<(String, Option<PlanExpr>)>,
    /// Sort keys: column and descending.
    pub order: Vec<(String, bool)>,
}
