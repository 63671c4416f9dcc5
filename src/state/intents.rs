//! The intents ledger: reading intents and moving them through their life.
//!
//! Every transition is one conditional `UPDATE … WHERE status IN (…)`, so two workers can never
//! both make the same transition; when nothing was updated, the current row tells whether the
//! intent is missing ([`StateErrorKind::NotFound`](super::StateErrorKind::NotFound)), already in
//! the wanted state (a repeated call is accepted), or in a state the transition is not allowed
//! from ([`StateErrorKind::Conflict`](super::StateErrorKind::Conflict)).

use std::str::FromStr;

use sqlx::any::AnyRow;

use super::log::insert_events;
use super::{
    failed, get, json_text, json_value, now, Intent, IntentStatus, NewEvent, StateError, Store,
};

/// `SELECT <every intents column> FROM intents`, as a literal for `concat!`.
macro_rules! select_intents {
    () => {
        "SELECT intent_key, sequence, project, flow, source, system, entity, operation, payload, \
         lookup, idempotency_key, depends_on, status, attempts, target_id, response, error, \
         created_at, updated_at FROM intents"
    };
}

impl Store {
    /// The intent with this key, if recorded.
    pub async fn intent(&self, key: &str) -> Result<Option<Intent>, StateError> {
        let row = sqlx::query(concat!(select_intents!(), " WHERE intent_key = $1"))
            .bind(key)
            .fetch_optional(&self.pool)
            .await
            .map_err(failed("cannot read intent"))?;
        row.as_ref().map(intent_from_row).transpose()
    }

    /// The project's intents, optionally only those with `status`, in sequence order.
    pub async fn intents(
        &self,
        project: &str,
        status: Option<IntentStatus>,
    ) -> Result<Vec<Intent>, StateError> {
        let rows = sqlx::query(concat!(
            select_intents!(),
            " WHERE project = $1 AND ($2 IS NULL OR status = $2) ORDER BY sequence"
        ))
        .bind(project)
        .bind(status.map(IntentStatus::as_str))
        .fetch_all(&self.pool)
        .await
        .map_err(failed("cannot list intents"))?;
        rows.iter().map(intent_from_row).collect()
    }

    /// Up to `limit` intents of the project still to deliver (`pending` or `attempted`) whose
    /// sequence is above `after`, in sequence order: one batch of a delivery pass. The next
    /// batch starts after the last sequence of this one (keyset paging, so a pass reads each
    /// open intent once in bounded memory, whatever the ledger's size).
    pub async fn open_intents(
        &self,
        project: &str,
        after: i64,
        limit: usize,
    ) -> Result<Vec<Intent>, StateError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = sqlx::query(concat!(
            select_intents!(),
            " WHERE project = $1 AND status IN ('pending', 'attempted') AND sequence > $2 \
             ORDER BY sequence LIMIT $3"
        ))
        .bind(project)
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(failed("cannot list open intents"))?;
        rows.iter().map(intent_from_row).collect()
    }

    /// Every intent one source record produced, in ledger order: what `credit X for record`
    /// chooses the credited document from.
    pub async fn intents_of_source(
        &self,
        project: &str,
        source: &str,
    ) -> Result<Vec<Intent>, StateError> {
        let rows = sqlx::query(concat!(
            select_intents!(),
            " WHERE project = $1 AND source = $2 ORDER BY sequence"
        ))
        .bind(project)
        .bind(source)
        .fetch_all(&self.pool)
        .await
        .map_err(failed("cannot read the intents of a source record"))?;
        rows.iter().map(intent_from_row).collect()
    }

    /// Marks several intents `attempted` in one transaction, as [`Store::mark_attempted`]
    /// does each: a batch about to be sent together. Either all are marked or none.
    pub async fn mark_attempted_many(&self, keys: &[String]) -> Result<(), StateError> {
        if keys.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin().await?;
        let at = now();
        for key in keys {
            let updated = sqlx::query(
                "UPDATE intents SET status = 'attempted', attempts = attempts + 1, updated_at = $2 \
                 WHERE intent_key = $1 AND status IN ('pending', 'attempted')",
            )
            .bind(key)
            .bind(&at)
            .execute(&mut *tx)
            .await
            .map_err(failed("cannot mark intent attempted"))?
            .rows_affected();
            if updated != 1 {
                let _ = tx.rollback().await;
                let current = self.existing(key).await?;
                return Err(StateError::conflict(format!(
                    "intent {key} is {}; only pending or attempted intents can be attempted",
                    current.status
                )));
            }
        }
        tx.commit()
            .await
            .map_err(failed("cannot commit attempted intents"))
    }

    /// Records several successful writes in one transaction, each as
    /// [`Store::complete_intent`] does, together with their export-log events (the event of a
    /// write is stored with its completion, or neither is). Either all are stored or none.
    pub async fn complete_intents(
        &self,
        done: &[(String, String, serde_json::Value)],
        events: &[NewEvent],
    ) -> Result<(), StateError> {
        if done.is_empty() && events.is_empty() {
            return Ok(());
        }
        let encoded = done
            .iter()
            .map(|(key, id, response)| Ok((key, id, json_text(response)?)))
            .collect::<Result<Vec<_>, StateError>>()?;
        let mut tx = self.begin().await?;
        let at = now();
        for (key, target_id, response) in encoded {
            let updated = sqlx::query(
                "UPDATE intents SET status = 'done', target_id = $2, response = $3, error = NULL, \
                 updated_at = $4 WHERE intent_key = $1 AND status IN ('pending', 'attempted')",
            )
            .bind(key)
            .bind(target_id)
            .bind(response)
            .bind(&at)
            .execute(&mut *tx)
            .await
            .map_err(failed("cannot complete intent"))?
            .rows_affected();
            if updated != 1 {
                let _ = tx.rollback().await;
                let current = self.existing(key).await?;
                if current.status == IntentStatus::Done
                    && current.target_id.as_deref() == Some(target_id.as_str())
                {
                    // Completed already with the same id: as `complete_intent`, accepted, but
                    // the batch is stored again without it.
                    let rest: Vec<_> = done.iter().filter(|d| &d.0 != key).cloned().collect();
                    return Box::pin(self.complete_intents(&rest, events)).await;
                }
                return Err(StateError::conflict(format!(
                    "intent {key} is {}; it cannot be completed",
                    current.status
                )));
            }
        }
        insert_events(&mut tx, events).await?;
        tx.commit()
            .await
            .map_err(failed("cannot commit completed intents"))
    }

    /// Records that the intent is about to be sent: status `attempted`, `attempts` + 1.
    /// Allowed from `pending` and `attempted`.
    pub async fn mark_attempted(&self, key: &str) -> Result<(), StateError> {
        let updated = sqlx::query(
            "UPDATE intents SET status = 'attempted', attempts = attempts + 1, updated_at = $2 \
             WHERE intent_key = $1 AND status IN ('pending', 'attempted')",
        )
        .bind(key)
        .bind(now())
        .execute(&self.pool)
        .await
        .map_err(failed("cannot mark intent attempted"))?
        .rows_affected();
        if updated == 1 {
            return Ok(());
        }
        let current = self.existing(key).await?;
        Err(StateError::conflict(format!(
            "intent {key} is {}; only pending or attempted intents can be attempted",
            current.status
        )))
    }

    /// Records the successful write: status `done` with the target's id and response.
    /// Allowed from `pending` and `attempted`; repeating it with the same target id is accepted.
    pub async fn complete_intent(
        &self,
        key: &str,
        target_id: &str,
        response: &serde_json::Value,
    ) -> Result<(), StateError> {
        let updated = sqlx::query(
            "UPDATE intents SET status = 'done', target_id = $2, response = $3, error = NULL, \
             updated_at = $4 WHERE intent_key = $1 AND status IN ('pending', 'attempted')",
        )
        .bind(key)
        .bind(target_id)
        .bind(json_text(response)?)
        .bind(now())
        .execute(&self.pool)
        .await
        .map_err(failed("cannot complete intent"))?
        .rows_affected();
        if updated == 1 {
            return Ok(());
        }
        let current = self.existing(key).await?;
        if current.status == IntentStatus::Done && current.target_id.as_deref() == Some(target_id) {
            return Ok(());
        }
        Err(StateError::conflict(match current.status {
            IntentStatus::Done => format!(
                "intent {key} is already done with target id {}",
                current.target_id.as_deref().unwrap_or("(none)")
            ),
            status => format!("intent {key} is {status}; retry it before completing it"),
        }))
    }

    /// Gives up on the intent with a reason: status `failed` (the dead letter list).
    /// Allowed from `pending`, `attempted` and `failed` (which replaces the reason).
    pub async fn fail_intent(&self, key: &str, reason: &str) -> Result<(), StateError> {
        let updated = sqlx::query(
            "UPDATE intents SET status = 'failed', error = $2, updated_at = $3 \
             WHERE intent_key = $1 AND status IN ('pending', 'attempted', 'failed')",
        )
        .bind(key)
        .bind(crate::redact::scrub(reason).as_ref())
        .bind(now())
        .execute(&self.pool)
        .await
        .map_err(failed("cannot fail intent"))?
        .rows_affected();
        if updated == 1 {
            return Ok(());
        }
        self.existing(key).await?;
        Err(StateError::conflict(format!(
            "intent {key} is already done; it cannot fail"
        )))
    }

    /// Puts a failed intent back to `pending` with `attempts` reset to 0 (the last error is
    /// kept until the next outcome). Retrying a pending intent does nothing.
    pub async fn retry_intent(&self, key: &str) -> Result<(), StateError> {
        let updated = sqlx::query(
            "UPDATE intents SET status = 'pending', attempts = 0, updated_at = $2 \
             WHERE intent_key = $1 AND status = 'failed'",
        )
        .bind(key)
        .bind(now())
        .execute(&self.pool)
        .await
        .map_err(failed("cannot retry intent"))?
        .rows_affected();
        if updated == 1 {
            return Ok(());
        }
        let current = self.existing(key).await?;
        if current.status == IntentStatus::Pending {
            return Ok(());
        }
        Err(StateError::conflict(format!(
            "intent {key} is {}; only failed intents can be retried",
            current.status
        )))
    }

    /// Replaces the payload of an intent that is not done yet.
    pub async fn update_payload(
        &self,
        key: &str,
        payload: &serde_json::Value,
    ) -> Result<(), StateError> {
        let updated = sqlx::query(
            "UPDATE intents SET payload = $2, updated_at = $3 \
             WHERE intent_key = $1 AND status <> 'done'",
        )
        .bind(key)
        .bind(json_text(payload)?)
        .bind(now())
        .execute(&self.pool)
        .await
        .map_err(failed("cannot update intent payload"))?
        .rows_affected();
        if updated == 1 {
            return Ok(());
        }
        self.existing(key).await?;
        Err(StateError::conflict(format!(
            "intent {key} is already done; its payload cannot change"
        )))
    }

    /// The intent, or a not-found error.
    async fn existing(&self, key: &str) -> Result<Intent, StateError> {
        self.intent(key)
            .await?
            .ok_or_else(|| StateError::not_found(format!("no intent with key {key}")))
    }
}

fn intent_from_row(row: &AnyRow) -> Result<Intent, StateError> {
    let depends_on: String = get(row, "depends_on")?;
    let depends_on = serde_json::from_str(&depends_on)
        .map_err(|e| StateError::query("stored depends_on is not a list of keys", e))?;
    let lookup: Option<String> = get(row, "lookup")?;
    let response: Option<String> = get(row, "response")?;
    let status: String = get(row, "status")?;
    let payload: String = get(row, "payload")?;
    Ok(Intent {
        key: get(row, "intent_key")?,
        sequence: get(row, "sequence")?,
        project: get(row, "project")?,
        flow: get(row, "flow")?,
        source: get(row, "source")?,
        system: get(row, "system")?,
        entity: get(row, "entity")?,
        operation: get(row, "operation")?,
        payload: json_value(&payload, "payload")?,
        lookup: lookup.map(|l| json_value(&l, "lookup")).transpose()?,
        idempotency_key: get(row, "idempotency_key")?,
        depends_on,
        status: IntentStatus::from_str(&status)?,
        attempts: get(row, "attempts")?,
        target_id: get(row, "target_id")?,
        response: response.map(|r| json_value(&r, "response")).transpose()?,
        error: get(row, "error")?,
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
    })
}
