//! The registry of diagnostic codes. A code is never reused: a retired rule stays listed
//! as `Removed`, and a renamed rule keeps its number.
//!
//! Ranges: `LL0xx` syntax, `LL1xx` names, `LL2xx` types and money, `LL3xx` sync semantics,
//! `LL4xx` flows, `LL5xx` hygiene and security, `LL6xx` project and profile files,
//! `LL9xx` internal.

use super::Severity;

/// Where a code is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeStatus {
    /// Checked and documented; its meaning does not change.
    Stable,
    /// Checked, but the message or scope may still change.
    Preview,
    /// No longer raised; kept so the number is never reused.
    Removed {
        /// The version that retired it.
        since: &'static str,
    },
}

/// A registered diagnostic code.
#[derive(Debug)]
pub struct Code {
    /// `LL103`
    pub id: &'static str,
    /// `unknown-field`: names the pattern flagged, not the fix.
    pub name: &'static str,
    /// Default severity.
    pub severity: Severity,
    /// Life-cycle status.
    pub status: CodeStatus,
    /// The documentation page (`docs/lints/<id>.md`), printed by `ledgerlink explain`.
    pub doc: &'static str,
}

impl Code {
    /// The documentation path, relative to the repository root.
    pub fn doc_path(&self) -> String {
        format!("docs/lints/{}.md", self.id)
    }
}

macro_rules! codes {
    ($( $konst:ident = $id:literal, $name:literal, $severity:ident; )*) => {
        $(
            #[doc = concat!("`", $id, "` ", $name)]
            pub static $konst: Code = Code {
                id: $id,
                name: $name,
                severity: Severity::$severity,
                status: CodeStatus::Stable,
                doc: include_str!(concat!("../../docs/lints/", $id, ".md")),
            };
        )*
        /// Every registered code, in number order.
        pub static ALL: &[&Code] = &[$(&$konst),*];
    };
}

codes! {
    SYNTAX_ERROR = "LL001", "syntax-error", Error;
    MISPLACED_STATEMENT = "LL002", "misplaced-statement", Error;
    UNKNOWN_SYSTEM = "LL101", "unknown-system", Error;
    UNKNOWN_ENTITY = "LL102", "unknown-entity", Error;
    UNKNOWN_FIELD = "LL103", "unknown-field", Error;
    UNKNOWN_FUNCTION = "LL104", "unknown-function", Error;
    UNKNOWN_NAME = "LL105", "unknown-name", Error;
    UNKNOWN_SETTING = "LL106", "unknown-setting", Error;
    WRONG_ARGUMENT_COUNT = "LL107", "wrong-argument-count", Error;
    DUPLICATE_NAME = "LL108", "duplicate-name", Error;
    TYPE_MISMATCH = "LL201", "type-mismatch", Error;
    SPLIT_SHARES_NOT_100 = "LL202", "split-shares-not-100", Error;
    UNKNOWN_ENUM_VALUE = "LL203", "unknown-enum-value", Error;
    TWO_WAY_OVER_EXPRESSION = "LL301", "two-way-over-expression", Error;
    FIELD_WRITTEN_TWICE = "LL302", "field-written-twice", Error;
    HOLD_WITHOUT_LINK = "LL303", "hold-without-link", Error;
    UNOBSERVABLE_TRIGGER = "LL304", "unobservable-trigger", Error;
    MATCH_KEY_NOT_UNIQUE = "LL305", "match-key-not-unique", Warning;
    READ_ONLY_FIELD_WRITTEN = "LL306", "read-only-field-written", Error;
    MISSING_REQUIRED_FIELD = "LL401", "missing-required-field", Error;
    CREATE_NOT_FINDABLE = "LL402", "create-not-findable", Error;
    UNREACHABLE_BRANCH = "LL403", "unreachable-branch", Warning;
    FLOW_CYCLE = "LL404", "flow-cycle", Error;
    FLOW_WITHOUT_SOURCE = "LL405", "flow-without-source", Error;
    TARGET_CANNOT_TAKE = "LL406", "target-cannot-take", Error;
    LITERAL_CREDENTIAL = "LL501", "literal-credential", Error;
    UNUSED_TABLE = "LL502", "unused-table", Warning;
    UNUSED_SETTING = "LL503", "unused-setting", Warning;
    INVALID_PROJECT_FILE = "LL601", "invalid-project-file", Error;
    INVALID_PROFILE = "LL602", "invalid-profile", Error;
    INVALID_TABLE_FILE = "LL603", "invalid-table-file", Error;
    UNKNOWN_CONNECTOR = "LL604", "unknown-connector", Error;
    INTERNAL_ERROR = "LL900", "internal-error", Error;
}

/// Looks a code up by its id (`LL103`) or name (`unknown-field`), case-insensitively.
pub fn lookup(key: &str) -> Option<&'static Code> {
    ALL.iter()
        .copied()
        .find(|c| c.id.eq_ignore_ascii_case(key) || c.name.eq_ignore_ascii_case(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_names_are_unique_and_ordered() {
        for pair in ALL.windows(2) {
            assert!(
                pair[0].id < pair[1].id,
                "{} before {}",
                pair[0].id,
                pair[1].id
            );
        }
        let mut names: Vec<_> = ALL.iter().map(|c| c.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), ALL.len());
    }

    #[test]
    fn every_doc_has_the_fixed_sections() {
        for code in ALL {
            assert!(
                code.doc
                    .starts_with(&format!("# {} {}", code.id, code.name)),
                "{} doc must start with its heading",
                code.id
            );
            for section in [
                "## What it checks",
                "## Why it matters",
                "## Example",
                "## Use instead",
                "## Fix",
            ] {
                assert!(
                    code.doc.contains(section),
                    "{} doc lacks `{section}`",
                    code.id
                );
            }
        }
    }

    #[test]
    fn lookup_by_id_or_name() {
        assert_eq!(lookup("ll103").map(|c| c.name), Some("unknown-field"));
        assert_eq!(lookup("unknown-field").map(|c| c.id), Some("LL103"));
        assert!(lookup("LL999").is_none());
    }
}
