//! File sources: records read from CSV (with a header row), JSON (an array of records, or one
//! record per file) or NDJSON (one record per line) files. The entity's `path` names the option
//! that holds the file, folder or glob (`fixtures/winner/*.json`, `**` for any depth), relative
//! to the project folder. The format is the `format` option, else the file's extension
//! (`.csv`, `.tsv`, `.json`, `.ndjson`, `.jsonl`). CSV values are text; the `delimiter`
//! option sets the separator and `encoding` may be `utf-8` (default) or `windows-1252`/
//! `latin1`. A folder means every non-hidden file directly in it.
//!
//! Lists read everything (a `since` is ignored: changes are found by comparing snapshots),
//! NDJSON files a page of lines at a time; get and search filter in memory. File sources are
//! read-only. A CSV report with one row per line of a record (a payout and its
//! transactions) becomes one record per key when the entity says how (`rows`).

mod rows;

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::connector::profile::{Entity, Rows};

use super::{error::ConnectorError, Client};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Ndjson,
    Csv,
}

/// Records handed out per page.
pub(super) const PAGE: usize = 1000;

/// Reads every record of an entity.
pub(super) async fn list(
    client: &Client,
    name: &str,
    entity: &Entity,
) -> Result<Vec<Value>, ConnectorError> {
    let mut listing = Listing::new(client, name, entity)?;
    let mut records = Vec::new();
    while let Some(page) = listing.next_page(client).await? {
        records.extend(page);
    }
    Ok(records)
}

/// One list of a file source in progress: the files still to read and the one being read.
/// NDJSON files are read [`PAGE`] lines at a time; CSV and JSON files are parsed whole and
/// handed out a page at a time.
#[derive(Debug)]
pub(super) struct Listing {
    files: std::vec::IntoIter<PathBuf>,
    current: Option<Open>,
    /// How a CSV file's rows make records, when not one per row.
    rows: Option<Rows>,
}

#[derive(Debug)]
enum Open {
    Parsed(std::vec::IntoIter<Value>),
    Lines {
        path: PathBuf,
        reader: std::io::BufReader<std::fs::File>,
        line: usize,
    },
}

impl Listing {
    /// Finds the files; reads nothing yet.
    pub(super) fn new(
        client: &Client,
        name: &str,
        entity: &Entity,
    ) -> Result<Listing, ConnectorError> {
        let option = entity.path.as_deref().unwrap_or("path");
        let pattern = client.options.get(option).ok_or_else(|| {
            ConnectorError::config(format!(
                "system `{}` needs the option `{option}` (a file, folder or glob) to read `{name}`",
                client.alias
            ))
        })?;
        let files = expand(&client.project_dir, pattern)?;
        Ok(Listing {
            files: files.into_iter(),
            current: None,
            rows: entity.rows.clone(),
        })
    }

    /// The next page of records, or `None` after the last file.
    pub(super) async fn next_page(
        &mut self,
        client: &Client,
    ) -> Result<Option<Vec<Value>>, ConnectorError> {
        loop {
            match &mut self.current {
                Some(Open::Parsed(records)) => {
                    let page: Vec<Value> = records.by_ref().take(PAGE).collect();
                    if !page.is_empty() {
                        return Ok(Some(page));
                    }
                    self.current = None;
                }
                Some(Open::Lines { path, reader, line }) => {
                    let page = read_lines(client, path, reader, line)?;
                    if !page.is_empty() {
                        return Ok(Some(page));
                    }
                    self.current = None;
                }
                None => {
                    let Some(path) = self.files.next() else {
                        return Ok(None);
                    };
                    let format = format_of(client, &path)?;
                    if format == Format::Ndjson {
                        let file = std::fs::File::open(&path).map_err(|err| {
                            ConnectorError::transient(format!(
                                "cannot read `{}`: {err}",
                                path.display()
                            ))
                        })?;
                        self.current = Some(Open::Lines {
                            path,
                            reader: std::io::BufReader::new(file),
                            line: 0,
                        });
                        continue;
                    }
                    let bytes = tokio::fs::read(&path).await.map_err(|err| {
                        ConnectorError::transient(format!(
                            "cannot read `{}`: {err}",
                            path.display()
                        ))
                    })?;
                    let text = decode(&bytes, client.options.get("encoding"), &path)?;
                    let mut records = Vec::new();
                    parse(&text, format, delimiter(client)?, &path, &mut records)?;
                    if let (Some(spec), Format::Csv) = (&self.rows, format) {
                        let option = |name: &str| client.options.get(name).map(str::to_string);
                        records = rows::group(records, spec, &option, &path.display().to_string())?;
                    }
                    self.current = Some(Open::Parsed(records.into_iter()));
                }
            }
        }
    }
}

/// Up to [`PAGE`] records from the next lines of an NDJSON file (empty at its end). The reads
/// are blocking but short: one page of lines from a local file.
fn read_lines(
    client: &Client,
    path: &Path,
    reader: &mut std::io::BufReader<std::fs::File>,
    line: &mut usize,
) -> Result<Vec<Value>, ConnectorError> {
    use std::io::BufRead;
    let mut page = Vec::new();
    let mut bytes = Vec::new();
    while page.len() < PAGE {
        bytes.clear();
        let read = reader.read_until(b'\n', &mut bytes).map_err(|err| {
            ConnectorError::transient(format!("cannot read `{}`: {err}", path.display()))
        })?;
        if read == 0 {
            break;
        }
        *line += 1;
        let text = decode(&bytes, client.options.get("encoding"), path)?;
        if let Some(record) = ndjson_record(&text, *line, path)? {
            page.push(record);
        }
    }
    Ok(page)
}

/// The record on line `number` of an NDJSON file; `None` for a blank line.
fn ndjson_record(line: &str, number: usize, path: &Path) -> Result<Option<Value>, ConnectorError> {
    let bad = |detail: String| ConnectorError::permanent(format!("`{}`: {detail}", path.display()));
    if line.trim().is_empty() {
        return Ok(None);
    }
    let value: Value =
        serde_json::from_str(line).map_err(|err| bad(format!("line {number}: not JSON: {err}")))?;
    if !value.is_object() {
        return Err(bad(format!("line {number} is not an object")));
    }
    Ok(Some(value))
}

/// Counts the files the option matches.
pub(super) async fn check(client: &Client) -> Result<String, ConnectorError> {
    let mut options: Vec<&str> = client
        .profile
        .entities
        .values()
        .map(|e| e.path.as_deref().unwrap_or("path"))
        .collect();
    options.dedup();
    let mut parts = Vec::new();
    for option in options {
        let Some(pattern) = client.options.get(option) else {
            return Err(ConnectorError::config(format!(
                "system `{}` needs the option `{option}`",
                client.alias
            )));
        };
        let files = expand(&client.project_dir, pattern)?;
        parts.push(format!("`{pattern}` matches {} file(s)", files.len()));
    }
    Ok(format!("{}: {}", client.alias, parts.join(", ")))
}

fn delimiter(client: &Client) -> Result<Option<u8>, ConnectorError> {
    let Some(text) = client.options.get("delimiter") else {
        return Ok(None);
    };
    match text {
        "\\t" | "tab" | "\t" => Ok(Some(b'\t')),
        _ if text.len() == 1 && text.is_ascii() => Ok(text.bytes().next()),
        _ => Err(ConnectorError::config(format!(
            "system `{}`: the delimiter must be one ASCII character, not `{text}`",
            client.alias
        ))),
    }
}

fn format_of(client: &Client, path: &Path) -> Result<Format, ConnectorError> {
    let named = client
        .options
        .get("format")
        .map(str::to_ascii_lowercase)
        .or_else(|| {
            path.extension()
                .and_then(|e| e.to_str())
                .map(str::to_ascii_lowercase)
        });
    match named.as_deref() {
        Some("json") => Ok(Format::Json),
        Some("ndjson" | "jsonl") => Ok(Format::Ndjson),
        Some("csv" | "tsv" | "txt") => Ok(Format::Csv),
        other => Err(ConnectorError::config(format!(
            "system `{}`: cannot tell the format of `{}` ({}); set the option `format` to csv, json or ndjson",
            client.alias,
            path.display(),
            other.unwrap_or("no extension")
        ))),
    }
}

fn decode(bytes: &[u8], encoding: Option<&str>, path: &Path) -> Result<String, ConnectorError> {
    let encoding = encoding.unwrap_or("utf-8").to_ascii_lowercase();
    match encoding.as_str() {
        "utf-8" | "utf8" => {
            let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
            String::from_utf8(bytes.to_vec()).map_err(|err| {
                ConnectorError::permanent(format!(
                    "`{}` is not UTF-8 (byte {}); set the option `encoding` (e.g. windows-1252)",
                    path.display(),
                    err.utf8_error().valid_up_to()
                ))
            })
        }
        "windows-1252" | "cp1252" | "latin1" | "latin-1" | "iso-8859-1" => {
            Ok(bytes.iter().map(|b| cp1252(*b)).collect())
        }
        other => Err(ConnectorError::config(format!(
            "unknown encoding `{other}` (use utf-8 or windows-1252)"
        ))),
    }
}

/// Windows-1252 to Unicode (ISO 8859-1 with 0x80–0x9F filled in).
fn cp1252(byte: u8) -> char {
    const HIGH: [char; 32] = [
        '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8D}', 'Ž',
        '\u{8F}', '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9D}',
        'ž', 'Ÿ',
    ];
    match byte {
        0x80..=0x9F => HIGH[usize::from(byte - 0x80)],
        _ => char::from(byte),
    }
}

fn parse(
    text: &str,
    format: Format,
    delimiter: Option<u8>,
    path: &Path,
    out: &mut Vec<Value>,
) -> Result<(), ConnectorError> {
    let bad = |detail: String| ConnectorError::permanent(format!("`{}`: {detail}", path.display()));
    match format {
        Format::Json => {
            let value: Value =
                serde_json::from_str(text).map_err(|err| bad(format!("not JSON: {err}")))?;
            match value {
                Value::Array(items) => {
                    for (index, item) in items.into_iter().enumerate() {
                        if !item.is_object() {
                            return Err(bad(format!("item {} is not an object", index + 1)));
                        }
                        out.push(item);
                    }
                }
                object @ Value::Object(_) => out.push(object),
                _ => return Err(bad("neither a list of records nor a record".to_string())),
            }
        }
        Format::Ndjson => {
            for (index, line) in text.lines().enumerate() {
                out.extend(ndjson_record(line, index + 1, path)?);
            }
        }
        Format::Csv => {
            let tsv = path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("tsv"));
            let delimiter = delimiter.unwrap_or(if tsv { b'\t' } else { b',' });
            let mut reader = csv::ReaderBuilder::new()
                .delimiter(delimiter)
                .flexible(true)
                .from_reader(text.as_bytes());
            let headers: Vec<String> = reader
                .headers()
                .map_err(|err| bad(format!("no header row: {err}")))?
                .iter()
                .map(|h| h.trim().to_string())
                .collect();
            for row in reader.records() {
                let row = row.map_err(|err| bad(err.to_string()))?;
                let mut record = Map::new();
                for (header, value) in headers.iter().zip(row.iter()) {
                    record.insert(header.clone(), Value::String(value.to_string()));
                }
                out.push(Value::Object(record));
            }
        }
    }
    Ok(())
}

fn has_wildcard(text: &str) -> bool {
    text.contains(['*', '?'])
}

/// The files a path, folder or glob names, sorted.
fn expand(project_dir: &Path, pattern: &str) -> Result<Vec<PathBuf>, ConnectorError> {
    let full = project_dir.join(pattern);
    if !has_wildcard(pattern) {
        if full.is_dir() {
            let mut files = Vec::new();
            let entries = std::fs::read_dir(&full).map_err(|err| {
                ConnectorError::transient(format!("cannot read `{}`: {err}", full.display()))
            })?;
            for entry in entries.flatten() {
                let path = entry.path();
                let hidden = entry.file_name().to_string_lossy().starts_with('.');
                if path.is_file() && !hidden {
                    files.push(path);
                }
            }
            files.sort();
            return Ok(files);
        }
        if full.is_file() {
            return Ok(vec![full]);
        }
        return Err(ConnectorError::config(format!(
            "`{}` does not exist",
            full.display()
        )));
    }
    let (root, rest) = if Path::new(pattern).is_absolute() {
        (PathBuf::from("/"), pattern.trim_start_matches('/'))
    } else {
        (project_dir.to_path_buf(), pattern)
    };
    let parts: Vec<&str> = rest.split(['/', '\\']).filter(|p| !p.is_empty()).collect();
    let mut out = Vec::new();
    walk(&root, &parts, &mut out);
    out.sort();
    out.dedup();
    Ok(out)
}

fn walk(dir: &Path, parts: &[&str], out: &mut Vec<PathBuf>) {
    let Some((part, rest)) = parts.split_first() else {
        if dir.is_file() {
            out.push(dir.to_path_buf());
        }
        return;
    };
    if *part == "**" {
        walk(dir, rest, out);
        for sub in children(dir).into_iter().filter(|p| p.is_dir()) {
            walk(&sub, parts, out);
        }
        return;
    }
    if !has_wildcard(part) {
        walk(&dir.join(part), rest, out);
        return;
    }
    for child in children(dir) {
        let Some(name) = child.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if name.starts_with('.') && !part.starts_with('.') {
            continue;
        }
        if matches(part, name) {
            walk(&child, rest, out);
        }
    }
}

fn children(dir: &Path) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| entries.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    paths.sort();
    paths
}

/// `*` (any run) and `?` (one character) wildcard matching.
fn matches(pattern: &str, name: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let name: Vec<char> = name.chars().collect();
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        if p < pattern.len() && (pattern[p] == '?' || pattern[p] == name[n]) {
            p += 1;
            n += 1;
        } else if p < pattern.len() && pattern[p] == '*' {
            star = Some((p, n));
            p += 1;
        } else if let Some((sp, sn)) = star {
            p = sp + 1;
            n = sn + 1;
            star = Some((sp, sn + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(matches("*.json", "a.json"));
        assert!(matches("q-??.csv", "q-01.csv"));
        assert!(!matches("*.json", "a.csv"));
        assert!(matches("*", "anything"));
        assert!(matches("a*b*c", "axxbyyc"));
        assert!(!matches("a*b*c", "axxbyy"));
        assert_eq!(cp1252(0x80), '€');
        assert_eq!(cp1252(0xE6), 'æ');
    }
}
