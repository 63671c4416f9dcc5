//! The set of connector profiles a project can use: the shipped ones, overridden or extended
//! by YAML files in the project's own `connectors/` folder.

use std::{path::Path, sync::Arc};

use indexmap::IndexMap;

use crate::{
    diagnostic::{codes, Diagnostic},
    source::{SourceFile, Span},
};

use super::Profile;

include!(concat!(env!("OUT_DIR"), "/shipped_profiles.rs"));

/// Loaded profiles by connector name.
#[derive(Debug, Default, Clone)]
pub struct Profiles {
    profiles: IndexMap<String, Arc<Profile>>,
}

impl Profiles {
    /// The shipped profiles. A shipped profile that fails to load is reported, not skipped silently.
    pub fn shipped(diagnostics: &mut Vec<Diagnostic>) -> Self {
        let mut profiles = Profiles::default();
        for (stem, text) in SHIPPED {
            let file = SourceFile::new(format!("rules/connectors/{stem}.yaml"), *text);
            profiles.add(&file, diagnostics);
        }
        profiles
    }

    /// Shipped profiles plus the project's own `connectors/*.yaml`, which win on a name clash.
    pub fn for_project(project_dir: &Path, diagnostics: &mut Vec<Diagnostic>) -> Self {
        let mut profiles = Self::shipped(diagnostics);
        let dir = project_dir.join("connectors");
        let Ok(read) = std::fs::read_dir(&dir) else {
            return profiles;
        };
        let mut paths: Vec<_> = read.filter_map(Result::ok).map(|e| e.path()).collect();
        paths.retain(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"));
        paths.sort();
        for path in paths {
            match std::fs::read_to_string(&path) {
                Ok(text) => {
                    let file = SourceFile::new(path.display().to_string(), text);
                    profiles.add(&file, diagnostics);
                }
                Err(err) => diagnostics.push(Diagnostic::new(
                    &codes::INVALID_PROFILE,
                    format!("cannot read connector profile `{}`: {err}", path.display()),
                )),
            }
        }
        profiles
    }

    /// Parses one profile file and adds it, reporting a YAML or shape error with its position.
    pub fn add(&mut self, file: &Arc<SourceFile>, diagnostics: &mut Vec<Diagnostic>) {
        match serde_yaml_ng::from_str::<Profile>(&file.text) {
            Ok(profile) => {
                self.profiles
                    .insert(profile.name.clone(), Arc::new(profile));
            }
            Err(err) => diagnostics.push(yaml_error(
                &codes::INVALID_PROFILE,
                "connector profile",
                "docs/connectors.md",
                file,
                &err,
            )),
        }
    }

    /// Looks a connector up by name.
    pub fn get(&self, name: &str) -> Option<&Arc<Profile>> {
        self.profiles.get(name)
    }

    /// Every connector name, for "did you mean".
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.profiles.keys().map(String::as_str)
    }

    /// Every profile.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Profile>> {
        self.profiles.values()
    }
}

/// Turns a serde YAML error into a diagnostic pointing at its line and column; `docs` is the
/// page that describes the file's format.
pub fn yaml_error(
    code: &'static crate::diagnostic::Code,
    what: &str,
    docs: &str,
    file: &Arc<SourceFile>,
    err: &serde_yaml_ng::Error,
) -> Diagnostic {
    let message = err.to_string();
    // serde's message ends with " at line L column C"; the location is shown by the label.
    let short = message
        .split(" at line ")
        .next()
        .unwrap_or(&message)
        .to_string();
    let mut diagnostic = Diagnostic::new(code, format!("invalid {what}: {short}")).in_file(file);
    let mut help = format!("see {docs} for the {what} format");
    if let Some(location) = err.location() {
        let offset = file.offset(location.line(), location.column());
        let line_start = file.text[..offset].rfind('\n').map_or(0, |n| n + 1);
        let end = file.text[offset..]
            .find('\n')
            .map_or(file.text.len(), |n| offset + n);
        diagnostic = diagnostic.primary(
            Span::new(offset, end.max(offset)),
            "cannot be read from here",
        );
        if file.text[line_start..end].contains('\t') {
            help = "YAML indents with spaces only: replace the tab on this line with spaces"
                .to_string();
        }
    }
    diagnostic.help(help)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_profile_loads() {
        let mut diagnostics = Vec::new();
        let profiles = Profiles::shipped(&mut diagnostics);
        let messages: Vec<_> = diagnostics
            .iter()
            .map(|d| {
                format!(
                    "{}: {}",
                    d.file.as_ref().map_or("", |f| f.name.as_str()),
                    d.message
                )
            })
            .collect();
        assert!(messages.is_empty(), "{messages:#?}");
        assert_eq!(profiles.iter().count(), SHIPPED.len());
    }
}
