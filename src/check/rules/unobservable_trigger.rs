#![doc = include_str!("../../../docs/lints/LL304.md")]

use super::Rule;
use crate::{
    check::{context::Context, resolve::Facts},
    connector::profile::{Observe, Operation},
    diagnostic::{codes, Code, Diagnostic},
};

/// `becomes`/`changed` on a field the source never shows a change of.
pub struct UnobservableTrigger;

impl Rule for UnobservableTrigger {
    fn code(&self) -> &'static Code {
        &codes::UNOBSERVABLE_TRIGGER
    }

    fn check(&self, cx: &Context<'_>, facts: &Facts, out: &mut Vec<Diagnostic>) {
        for observed in &facts.observed {
            let Some(entity) = cx.entity(&observed.system, &observed.entity) else {
                continue;
            };
            let Some(field) = entity.fields.get(&observed.field) else {
                continue;
            };
            let listable =
                entity.operations.is_empty() || entity.operations.contains(&Operation::List);
            let watched = listable || entity.observe.contains(&Observe::Webhook);
            let reason = if !field.observable {
                format!(
                    "the {} API does not return `{}` when listing or notifying",
                    observed.system, observed.field
                )
            } else if !watched {
                format!(
                    "{}.{} can be neither listed nor subscribed to",
                    observed.system, observed.entity
                )
            } else {
                continue;
            };
            out.push(
                Diagnostic::new(
                    &codes::UNOBSERVABLE_TRIGGER,
                    format!("changes of `{}` cannot be seen", observed.field),
                )
                .primary(observed.span, "never observed")
                .help("trigger on a field the source reports, or on `created` / `requested`")
                .note(reason)
                .in_file(&observed.file),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::check::testing::lint_codes;

    #[test]
    fn observable_fields_pass() {
        assert!(
            !lint_codes(r#"flow f { on winner.Quote when Status becomes "Accepted" }"#)
                .contains(&"LL304")
        );
    }
}
