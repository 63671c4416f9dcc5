//! `post … to <destination>` and `attach file` at delivery: the markers the flow left in a
//! document become what the target's profile says (`destination`, `attachment` in
//! docs/connectors.md). A destination or attachment the profile cannot express fails the
//! document with the reason: a voucher meant for the ledger must not land in an inbox, and a
//! Z report must not lose its PDF, without anyone being told.

use base64::{engine::general_purpose::STANDARD, Engine as _};
use serde_json::{json, Map, Value as Json};

use crate::connector::Entity;

/// The marker `post … to` leaves: the destination's name.
pub const DESTINATION: &str = "$destination";

/// The marker `attach` leaves: the attached values.
pub const ATTACHMENTS: &str = "$attachments";

/// Replaces the destination and attachment markers of `payload` (a document of `entity`,
/// named `name` in messages, with key `key`) by the fields the profile names.
pub fn apply(
    entity: &Entity,
    name: &str,
    key: &str,
    payload: &mut Map<String, Json>,
) -> Result<(), String> {
    if let Some(destination) = payload.remove(DESTINATION) {
        let destination = destination.as_str().unwrap_or_default();
        match &entity.destination {
            Some(spec) => {
                let value = spec.values.get(destination).ok_or_else(|| {
                    format!("{name} cannot be posted to `{destination}`: its connector profile knows no such destination")
                })?;
                payload.insert(spec.field.clone(), value.clone());
            }
            // Without a field to set, only the entity's first destination is what a plain
            // save gives.
            None if entity.destinations.first().map(String::as_str) == Some(destination) => {}
            None => {
                return Err(format!(
                    "{name} cannot be posted to `{destination}`: its connector profile says how to reach only `{}`",
                    entity.destinations.first().map_or("", String::as_str)
                ))
            }
        }
    }
    let attached = match payload.remove(ATTACHMENTS) {
        Some(Json::Array(items)) => items,
        Some(Json::Null) | None => Vec::new(),
        Some(one) => vec![one],
    };
    let attached: Vec<Json> = attached
        .into_iter()
        .filter(|a| !a.is_null() && a.as_str() != Some(""))
        .collect();
    let Some(first) = attached.first() else {
        return Ok(());
    };
    let Some(spec) = &entity.attachment else {
        return Err(format!(
            "{name} cannot carry attachments: its connector profile has no `attachment`"
        ));
    };
    if attached.len() > 1 {
        return Err(format!(
            "{name} takes one attachment, the rules attach {}",
            attached.len()
        ));
    }
    payload.insert(spec.field.clone(), file(first, key)?);
    Ok(())
}

/// An attached value as `{file_name, content_type, base64}`: a base64 text (a POS's PDF), or
/// a record with `base64` and optionally `file_name` and `content_type`. The type is read
/// from the content when not given, and the name made from the document key.
fn file(value: &Json, key: &str) -> Result<Json, String> {
    let (data, file_name, content_type) = match value {
        Json::String(data) => (data.as_str(), None, None),
        Json::Object(map) => (
            map.get("base64").and_then(Json::as_str).unwrap_or_default(),
            map.get("file_name").and_then(Json::as_str),
            map.get("content_type").and_then(Json::as_str),
        ),
        other => return Err(format!("cannot attach {other}: not a file")),
    };
    let compact: String = data.chars().filter(|c| !c.is_whitespace()).collect();
    let bytes = STANDARD
        .decode(&compact)
        .map_err(|err| format!("the attachment is not base64: {err}"))?;
    let (sniffed, extension) = kind(&bytes);
    let content_type = content_type.unwrap_or(sniffed);
    let file_name = file_name.map_or_else(
        || format!("{}.{extension}", &key[..key.len().min(12)]),
        str::to_string,
    );
    Ok(json!({ "file_name": file_name, "content_type": content_type, "base64": compact }))
}

/// The media type and file extension of `bytes` by their first bytes.
fn kind(bytes: &[u8]) -> (&'static str, &'static str) {
    if bytes.starts_with(b"%PDF") {
        ("application/pdf", "pdf")
    } else if bytes.starts_with(b"\x89PNG") {
        ("image/png", "png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        ("image/jpeg", "jpg")
    } else {
        ("application/octet-stream", "bin")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn voucher(with_specs: bool) -> Entity {
        let specs = if with_specs {
            "destination: { field: DirectLedger, values: { ledger: true, inbox: false } }
attachment: { field: Attachment }
"
        } else {
            ""
        };
        serde_yaml_ng::from_str(&format!(
            "id: StampNo
destinations: [ledger, inbox]
{specs}fields:
  StampNo: {{type: integer}}
  DirectLedger: {{type: bool}}
  Attachment: {{type: binary}}
"
        ))
        .expect("entity")
    }

    fn payload(value: Json) -> Map<String, Json> {
        value.as_object().cloned().expect("object")
    }

    #[test]
    fn the_destination_and_the_pdf_become_fields() {
        let pdf = STANDARD.encode(b"%PDF-1.4 z report");
        let mut body =
            payload(json!({ "Name": "Z 1187", "$destination": "inbox", "$attachments": [pdf] }));
        apply(&voucher(true), "acc.Voucher", "abcdef0123456789", &mut body).expect("applied");
        assert_eq!(
            Json::Object(body),
            json!({ "Name": "Z 1187", "DirectLedger": false, "Attachment": {
                "file_name": "abcdef012345.pdf", "content_type": "application/pdf", "base64": pdf } })
        );
    }

    #[test]
    fn what_the_profile_cannot_express_fails_the_document() {
        let mut body = payload(json!({ "$destination": "inbox" }));
        let error = apply(&voucher(false), "acc.V", "k", &mut body).unwrap_err();
        assert!(error.contains("only `ledger`"), "{error}");

        let mut body = payload(json!({ "$attachments": ["JVBERg=="] }));
        let error = apply(&voucher(false), "acc.V", "k", &mut body).unwrap_err();
        assert!(error.contains("no `attachment`"), "{error}");

        let mut body = payload(json!({ "$attachments": ["not base64!"] }));
        let error = apply(&voucher(true), "acc.V", "k", &mut body).unwrap_err();
        assert!(error.contains("not base64"), "{error}");

        // The first destination needs nothing sent; nothing attached needs nothing.
        let mut body = payload(json!({ "$destination": "ledger", "$attachments": [null] }));
        apply(&voucher(false), "acc.V", "k", &mut body).expect("plain save");
        assert!(body.is_empty());
    }
}
