//! Finds where a key sits in a YAML file, so diagnostics about `ledgerlink.yaml` point at
//! the right line (serde gives values, not positions).

use crate::source::{SourceFile, Span};

/// The span of the last key of `path` (e.g. `["systems", "acc", "auth", "password"]`),
/// following block and flow (`{ a: 1 }`) mappings by indentation and order. Returns the
/// span of the closest ancestor found when the full path is not.
pub fn key_span(file: &SourceFile, path: &[&str]) -> Option<Span> {
    let text = &file.text;
    let mut search_from = 0;
    let mut min_indent: Option<usize> = None;
    let mut found = None;
    for key in path {
        let mut hit = None;
        let mut offset = search_from;
        for line in text[search_from..].split_inclusive('\n') {
            let line_start = offset;
            offset += line.len();
            let trimmed = line.trim_start();
            let indent = line.len() - trimmed.len();
            if trimmed.starts_with('#') || trimmed.trim().is_empty() {
                continue;
            }
            if let Some(min) = min_indent {
                if indent <= min && line_start != search_from {
                    break;
                }
            }
            if let Some(pos) = find_key(line, key) {
                hit = Some((line_start + pos, indent));
                break;
            }
        }
        let Some((start, indent)) = hit else { break };
        found = Some(Span::new(start, start + key.len()));
        search_from = text[start..]
            .find('\n')
            .map_or(text.len(), |n| start + n + 1)
            .min(text.len());
        // A flow mapping on the same line holds the children: search from the key itself.
        if text[start..search_from].contains('{') {
            search_from = start;
            min_indent = None;
        } else {
            min_indent = Some(indent);
        }
    }
    found
}

/// The byte position of `key:` in a line (as a block key or inside a flow mapping).
fn find_key(line: &str, key: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(pos) = line[from..].find(key) {
        let at = from + pos;
        let before = line[..at].chars().last();
        let after = &line[at + key.len()..];
        let boundary = before
            .is_none_or(|c| c == ' ' || c == '{' || c == ',' || c == '-' || c == '"' || c == '\'');
        let rest = after.trim_start_matches(['"', '\'']);
        if boundary && rest.trim_start().starts_with(':') {
            return Some(at);
        }
        from = at + key.len();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_block_and_flow_keys() {
        let file = SourceFile::new(
            "p.yaml",
            "systems:\n  crm: { connector: webcrm, auth: { token: abc } }\n  erp:\n    connector: uniconta\n    auth:\n      password: hunter2\nsettings:\n  x: 1\n",
        );
        let span = key_span(&file, &["systems", "crm", "auth", "token"]).unwrap();
        assert_eq!(file.slice(span), "token");
        assert_eq!(file.line_column(span.start).0, 2);
        let span = key_span(&file, &["systems", "erp", "auth", "password"]).unwrap();
        assert_eq!(file.line_column(span.start).0, 6);
        let span = key_span(&file, &["settings", "x"]).unwrap();
        assert_eq!(file.line_column(span.start).0, 8);
    }
}
