#![doc = include_str!("../../../docs/lints/LL603.md")]

use super::Rule;
use crate::{
    check::{context::Context, resolve::Facts},
    diagnostic::{codes, Code, Diagnostic},
    syntax::ast::{Item, TableSource},
};

/// A `table … = csv "file"` whose file is missing, unreadable, lacks the named columns or
/// repeats a key.
pub struct InvalidTableFile;

impl Rule for InvalidTableFile {
    fn code(&self) -> &'static Code {
        &codes::INVALID_TABLE_FILE
    }

    fn check(&self, cx: &Context<'_>, _facts: &Facts, out: &mut Vec<Diagnostic>) {
        for rule_file in &cx.project.rules {
            for item in &rule_file.ast.items {
                let Item::Table(table) = item else { continue };
                let TableSource::Csv { path, key, value } = &table.node.source else {
                    continue;
                };
                let problem = match cx.project.read_relative(&path.node) {
                    Err(_) => Some((
                        format!("cannot read table file `{}`", path.node),
                        "the path is relative to the project folder (where ledgerlink.yaml is); check the name and that the file exists".to_string(),
                    )),
                    Ok(text) => check_csv(
                        &text,
                        key.as_ref().map(|k| k.node.as_str()),
                        value.as_ref().map(|v| v.node.as_str()),
                    ),
                };
                if let Some((message, help)) = problem {
                    out.push(
                        Diagnostic::new(&codes::INVALID_TABLE_FILE, message)
                            .primary(path.span, "this file")
                            .help(help)
                            .in_file(&rule_file.source),
                    );
                }
            }
        }
    }
}

/// Checks headers and keys; returns (message, help) for the first problem.
pub fn check_csv(text: &str, key: Option<&str>, value: Option<&str>) -> Option<(String, String)> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(text.as_bytes());
    let headers = match reader.headers() {
        Ok(h) => h.clone(),
        Err(err) => return Some(("the table file is not valid CSV".into(), err.to_string())),
    };
    let names: Vec<&str> = headers.iter().collect();
    if names.len() < 2 {
        return Some((
            "a table file needs at least two columns".into(),
            "write a header line such as `Kind,Account`".into(),
        ));
    }
    let index_of = |column: Option<&str>, default: usize| match column {
        None => Ok(default),
        Some(c) => names.iter().position(|n| *n == c).ok_or_else(|| {
            (
                format!("the table file has no column `{c}`"),
                format!(
                    "its columns are {}",
                    names
                        .iter()
                        .map(|n| format!("`{n}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        }),
    };
    let key_index = match index_of(key, 0) {
        Ok(i) => i,
        Err(e) => return Some(e),
    };
    if let Err(e) = index_of(value, 1) {
        return Some(e);
    }
    let mut seen = std::collections::HashSet::new();
    for (row, record) in reader.records().enumerate() {
        let record = match record {
            Ok(r) => r,
            Err(err) => {
                return Some((
                    format!("row {} of the table file is broken", row + 2),
                    err.to_string(),
                ))
            }
        };
        let k = record.get(key_index).unwrap_or_default().to_string();
        if !seen.insert(k.clone()) {
            return Some((
                format!(
                    "key `{k}` appears twice in the table file (row {})",
                    row + 2
                ),
                "keep one row per key".into(),
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::check_csv;

    #[test]
    fn csv_problems() {
        assert!(check_csv(
            "Kind,Account\ncash,1900\ncard,1910\n",
            Some("Kind"),
            Some("Account")
        )
        .is_none());
        assert!(check_csv("Kind,Account\ncash,1900\ncash,1910\n", None, None).is_some());
        assert!(check_csv("Kind,Account\n", Some("Knd"), None).is_some());
    }
}
