//! The lint rules, one per file, each with its code's documentation, its diagnostics and
//! its tests. Rules about names and types report while resolving (their files hold the
//! diagnostic constructors); the others run over the resolved project through [`Rule`].

pub mod create_not_findable;
pub mod duplicate_name;
pub mod field_written_twice;
pub mod flow_cycle;
pub mod flow_without_source;
pub mod hold_without_link;
pub mod literal_credential;
pub mod match_key_not_unique;
pub mod misplaced_statement;
pub mod missing_required_field;
pub mod project_file;
pub mod read_only_field_written;
pub mod split_shares_not_100;
pub mod table_file;
pub mod target_cannot_take;
pub mod two_way_over_expression;
pub mod type_mismatch;
pub mod unknown_connector;
pub mod unknown_entity;
pub mod unknown_enum_value;
pub mod unknown_field;
pub mod unknown_function;
pub mod unknown_name;
pub mod unknown_setting;
pub mod unknown_system;
pub mod unobservable_trigger;
pub mod unreachable_branch;
pub mod unused_setting;
pub mod unused_table;
pub mod wrong_argument_count;

use super::{context::Context, resolve::Facts};
use crate::diagnostic::{Code, Diagnostic};

/// A lint rule that runs after names and types are resolved.
pub trait Rule: Sync {
    /// The code it reports.
    fn code(&self) -> &'static Code;
    /// Adds its findings to `out`.
    fn check(&self, cx: &Context<'_>, facts: &Facts, out: &mut Vec<Diagnostic>);
}

/// Every rule that runs after resolution.
pub static RULES: &[&dyn Rule] = &[
    &duplicate_name::DuplicateName,
    &split_shares_not_100::SplitSharesNot100,
    &two_way_over_expression::TwoWayOverExpression,
    &field_written_twice::FieldWrittenTwice,
    &hold_without_link::HoldWithoutLink,
    &unobservable_trigger::UnobservableTrigger,
    &match_key_not_unique::MatchKeyNotUnique,
    &read_only_field_written::ReadOnlyFieldWritten,
    &missing_required_field::MissingRequiredField,
    &create_not_findable::CreateNotFindable,
    &unreachable_branch::UnreachableBranch,
    &flow_cycle::FlowCycle,
    &flow_without_source::FlowWithoutSource,
    &target_cannot_take::TargetCannotTake,
    &literal_credential::LiteralCredential,
    &unused_table::UnusedTable,
    &unused_setting::UnusedSetting,
    &project_file::InvalidProjectFile,
    &table_file::InvalidTableFile,
    &unknown_connector::UnknownConnector,
];
