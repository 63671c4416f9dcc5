#![doc = include_str!("../../../docs/lints/LL105.md")]

use crate::{
    check::suggest::help_for,
    diagnostic::{codes, Diagnostic},
    source::Span,
    syntax::ast::Ident,
};

/// A bare name that is no variable, table, system or field in scope.
pub fn diagnostic(
    name: &Ident,
    candidates: &[&str],
    subject: Option<&str>,
    record: Option<&(String, String)>,
) -> Diagnostic {
    let mut diagnostic = Diagnostic::new(
        &codes::UNKNOWN_NAME,
        format!("unknown name `{}`", name.node),
    )
    .primary(name.span, "not defined here")
    .help(help_for(&name.node, "name", candidates.iter().copied()));
    diagnostic = match (subject, record) {
        (Some(subject), _) => diagnostic.note(format!("bare names here are fields of {subject}")),
        (None, Some((system, entity))) => diagnostic.note(format!(
            "fields of the flow's record are written `{system}.{entity}.Field`"
        )),
        _ => diagnostic,
    };
    diagnostic
}

/// A field of the flow's record written without the record's path.
pub fn record_field_without_path(name: &Ident, system: &str, entity: &str) -> Diagnostic {
    Diagnostic::new(
        &codes::UNKNOWN_NAME,
        format!("unknown name `{}`", name.node),
    )
    .primary(name.span, "not defined here")
    .help(format!("did you mean `{system}.{entity}.{}`?", name.node))
    .note("fields of the record that started the flow are written with its full path")
}

/// `settings` without a key.
pub fn setting_without_key(at: Span) -> Diagnostic {
    Diagnostic::new(&codes::UNKNOWN_NAME, "`settings` needs a key")
        .primary(at, "which setting?")
        .help("write `settings.<key>` with a key from ledgerlink.yaml")
}

/// A system alias used without an entity (`winner` instead of `winner.Quote`).
pub fn system_without_entity(system: &Ident) -> Diagnostic {
    Diagnostic::new(
        &codes::UNKNOWN_NAME,
        format!("`{}` is a system, not a value", system.node),
    )
    .primary(system.span, "a system alias alone")
    .help(format!(
        "name an entity and a field: `{}.Entity.Field`",
        system.node
    ))
}

/// A path to an entity that is not the record of the flow or view.
pub fn not_the_record(at: Span, record: Option<&(String, String)>, in_sync: bool) -> Diagnostic {
    let help = match record {
        Some((system, entity)) => format!(
            "only the record this block is about (`{system}.{entity}`) can be read by path; look others up with `find system.Entity where …`"
        ),
        None if in_sync => "in a sync, write `alias.Field` with one of the sync's two aliases".to_string(),
        None => "look records up with `find system.Entity where …`".to_string(),
    };
    Diagnostic::new(
        &codes::UNKNOWN_NAME,
        "this entity's records cannot be read here",
    )
    .primary(at, "not the record of this block")
    .help(help)
}

/// An alias that is not one of the two sides of a sync.
pub fn not_a_side(alias: &Ident, sides: &[&str]) -> Diagnostic {
    Diagnostic::new(
        &codes::UNKNOWN_NAME,
        format!("`{}` is not a side of this sync", alias.node),
    )
    .primary(alias.span, "not one of the synced systems")
    .help(help_for(&alias.node, "side", sides.iter().copied()))
}

/// A keyword-like word (policy, destination) that is not one of the allowed ones.
pub fn bad_word(word: &Ident, what: &str, allowed: &[&str]) -> Diagnostic {
    let list = allowed
        .iter()
        .map(|a| format!("`{a}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let help = match crate::check::suggest::did_you_mean(&word.node, allowed.iter().copied()) {
        Some(best) => format!("did you mean `{best}`? the choices are {list}"),
        None => format!("the choices are {list}"),
    };
    Diagnostic::new(
        &codes::UNKNOWN_NAME,
        format!("unknown {what} `{}`", word.node),
    )
    .primary(word.span, "not one of the choices")
    .help(help)
}

#[cfg(test)]
mod tests {
    use crate::check::testing::lint_codes;

    #[test]
    fn flags_unknown_names_and_words() {
        assert!(lint_codes("flow f { on winner.Quote when quote_total > 1 }").contains(&"LL105"));
        assert!(lint_codes("flow f { on winner.Quote amend updte }").contains(&"LL105"));
        assert!(!lint_codes("flow f { on winner.Quote amend update }").contains(&"LL105"));
    }
}
