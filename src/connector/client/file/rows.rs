//! CSV reports with one row per line of a record (a payout's transactions): rows with the
//! same key become one record, the rows its lines (the entity's `rows` in its profile).

use indexmap::IndexMap;
use serde_json::{Map, Value};

use crate::connector::{client::ConnectorError, profile::Rows};

/// Groups `rows` (records of one file, in file order) into records by `spec`; `option` gives
/// the system's options (`decimal_separator`, and those `defaults` name). Records keep the
/// order their key first appears in. Rows of one record that disagree on a record field are
/// an error naming the file, the row and the field: the report is wrong, and a payout made
/// of two dates or currencies must not be booked.
pub fn group(
    rows: Vec<Value>,
    spec: &Rows,
    option: &dyn Fn(&str) -> Option<String>,
    file: &str,
) -> Result<Vec<Value>, ConnectorError> {
    let separator = option("decimal_separator").unwrap_or_else(|| ".".to_string());
    let mut records: IndexMap<String, Map<String, Value>> = IndexMap::new();
    for (index, row) in rows.iter().enumerate() {
        // The header is row 1 of the file.
        let number = index + 2;
        let column = |name: &str| -> Value {
            let Some(text) = row.get(name).and_then(Value::as_str) else {
                return Value::Null;
            };
            if spec.numbers.iter().any(|n| n == name) {
                if text.trim().is_empty() {
                    return Value::Null;
                }
                Value::String(number_text(text, &separator))
            } else {
                Value::String(text.to_string())
            }
        };
        let key = row
            .get(&spec.key)
            .and_then(Value::as_str)
            .filter(|k| !k.trim().is_empty())
            .ok_or_else(|| {
                ConnectorError::permanent(format!(
                    "`{file}` row {number}: no `{}`, the column that says which record the row belongs to",
                    spec.key
                ))
            })?
            .to_string();
        let mut fields = Map::new();
        for (field, name) in &spec.fields {
            let mut value = column(name);
            if value.is_null() || value.as_str().is_some_and(str::is_empty) {
                if let Some(default) = spec.defaults.get(field).and_then(|o| option(o)) {
                    value = Value::String(default);
                }
            }
            fields.insert(field.clone(), value);
        }
        let line: Map<String, Value> = spec
            .line_fields
            .iter()
            .map(|(field, name)| (field.clone(), column(name)))
            .collect();
        match records.get_mut(&key) {
            Some(record) => {
                for (field, value) in &fields {
                    if record.get(field) != Some(value) {
                        return Err(ConnectorError::permanent(format!(
                            "`{file}` row {number}: {} `{key}` has {field} {} here and {} in an earlier row",
                            spec.key,
                            value,
                            record.get(field).unwrap_or(&Value::Null)
                        )));
                    }
                }
                if let Some(Value::Array(lines)) = record.get_mut(&spec.lines) {
                    lines.push(Value::Object(line));
                }
            }
            None => {
                let mut record = fields;
                record.insert(spec.lines.clone(), Value::Array(vec![Value::Object(line)]));
                records.insert(key, record);
            }
        }
    }
    Ok(records.into_values().map(Value::Object).collect())
}

/// `1 249,00` with separator `,` → `1249.00`; a text that is no number stays as it was, for
/// the rules to report.
fn number_text(text: &str, separator: &str) -> String {
    let compact: String = text
        .trim()
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '\u{a0}')
        .collect();
    let normal = if separator == "." {
        compact
    } else {
        compact.replace('.', "").replace(separator, ".")
    };
    if normal.parse::<rust_decimal::Decimal>().is_ok() {
        normal
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn spec() -> Rows {
        serde_yaml_ng::from_str(
            "key: payout_id
fields: { Id: payout_id, Date: payout_date, Provider: provider }
defaults: { Provider: provider }
lines: Lines
line_fields: { OrderRef: order_ref, Gross: gross }
numbers: [gross]
",
        )
        .expect("spec")
    }

    fn options(name: &str) -> Option<String> {
        match name {
            "decimal_separator" => Some(",".into()),
            "provider" => Some("Nets".into()),
            _ => None,
        }
    }

    #[test]
    fn rows_with_one_key_are_one_record() {
        let rows = vec![
            json!({ "payout_id": "P1", "payout_date": "2026-03-09", "provider": "", "order_ref": "#1", "gross": "1 249,00" }),
            json!({ "payout_id": "P2", "payout_date": "2026-03-10", "provider": "Adyen", "order_ref": "#3", "gross": "5,5" }),
            json!({ "payout_id": "P1", "payout_date": "2026-03-09", "provider": "", "order_ref": "#2", "gross": "-449,00" }),
        ];
        let records = group(rows, &spec(), &options, "p.csv").expect("grouped");
        assert_eq!(
            records,
            [
                json!({ "Id": "P1", "Date": "2026-03-09", "Provider": "Nets", "Lines": [
                    { "OrderRef": "#1", "Gross": "1249.00" }, { "OrderRef": "#2", "Gross": "-449.00" }
                ] }),
                json!({ "Id": "P2", "Date": "2026-03-10", "Provider": "Adyen", "Lines": [
                    { "OrderRef": "#3", "Gross": "5.5" }
                ] }),
            ]
        );
    }

    #[test]
    fn rows_that_disagree_name_the_file_row_and_field() {
        let rows = vec![
            json!({ "payout_id": "P1", "payout_date": "2026-03-09", "gross": "1" }),
            json!({ "payout_id": "P1", "payout_date": "2026-03-10", "gross": "2" }),
        ];
        let error = group(rows, &spec(), &options, "p.csv").unwrap_err();
        assert!(
            error.message.contains("`p.csv` row 3") && error.message.contains("Date"),
            "{}",
            error.message
        );
    }

    #[test]
    fn a_text_that_is_no_number_stays_for_the_rules_to_report() {
        assert_eq!(number_text("n/a", ","), "n/a");
        assert_eq!(number_text("1.234,50", ","), "1234.50");
        assert_eq!(number_text(" 12.50 ", "."), "12.50");
    }
}
