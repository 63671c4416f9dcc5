//! One atomic step of the runtime: a source record was evaluated.

use sqlx::AnyConnection;

use super::log::insert_events;
use super::{
    count_i64, failed, json_text, now, CommitOutcome, NewIntent, SourceStep, StateError, Store,
};

impl Store {
    /// Commits what evaluating one source record produced, in ONE transaction: upserts the
    /// snapshot (if given), inserts the intents whose keys are not recorded yet (existing keys
    /// are left untouched, so re-evaluating a record never duplicates an intent), appends the
    /// events and sets the watermark (if given). Either all of it is stored or nothing.
    pub async fn commit_source(&self, step: &SourceStep) -> Result<CommitOutcome, StateError> {
        // Encode everything before taking any lock.
        let snapshot = match &step.snapshot {
            Some((key, fields, hash)) => Some((key, json_text(fields)?, hash)),
            None => None,
        };
        let intents = step
            .intents
            .iter()
            .map(EncodedIntent::new)
            .collect::<Result<Vec<_>, _>>()?;

        let mut tx = self.begin().await?;
        // Lock order (see the module docs): snapshot row, intents counter, events counter,
        // watermark row.
        if let Some((key, fields, hash)) = snapshot {
            sqlx::query(
                "INSERT INTO snapshots (project, system, entity, record_id, fields, hash, seen_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) \
                 ON CONFLICT (project, system, entity, record_id) DO UPDATE SET \
                 fields = excluded.fields, hash = excluded.hash, seen_at = excluded.seen_at",
            )
            .bind(&key.project)
            .bind(&key.system)
            .bind(&key.entity)
            .bind(&key.id)
            .bind(fields)
            .bind(hash)
            .bind(now())
            .execute(&mut *tx)
            .await
            .map_err(failed("cannot store snapshot"))?;
        }
        let new_intents = insert_intents(&mut tx, &intents).await?;
        insert_events(&mut tx, &step.events).await?;
        if let Some((project, system, entity, value)) = &step.watermark {
            sqlx::query(
                "INSERT INTO watermarks (project, system, entity, value, updated_at) \
                 VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (project, system, entity) DO UPDATE SET \
                 value = excluded.value, updated_at = excluded.updated_at",
            )
            .bind(project)
            .bind(system)
            .bind(entity)
            .bind(value)
            .bind(now())
            .execute(&mut *tx)
            .await
            .map_err(failed("cannot store watermark"))?;
        }
        tx.commit()
            .await
            .map_err(failed("cannot commit source step"))?;
        Ok(CommitOutcome { new_intents })
    }
}

/// A [`NewIntent`] with its JSON encoded.
struct EncodedIntent<'a> {
    intent: &'a NewIntent,
    payload: String,
    lookup: Option<String>,
    depends_on: String,
}

impl<'a> EncodedIntent<'a> {
    fn new(intent: &'a NewIntent) -> Result<Self, StateError> {
        Ok(EncodedIntent {
            intent,
            payload: json_text(&intent.payload)?,
            lookup: intent.lookup.as_ref().map(json_text).transpose()?,
            depends_on: serde_json::to_string(&intent.depends_on)
                .map_err(|e| StateError::query("cannot encode depends_on", e))?,
        })
    }
}

/// Inserts the intents not recorded yet and returns how many were new. Holds the `intents`
/// counter row from the first insert to the end of the transaction, which numbers the new
/// intents in commit order without gaps.
async fn insert_intents(
    conn: &mut AnyConnection,
    intents: &[EncodedIntent<'_>],
) -> Result<usize, StateError> {
    if intents.is_empty() {
        return Ok(0);
    }
    let last: i64 = sqlx::query_scalar(
        "UPDATE counters SET value = value WHERE name = 'intents' RETURNING value",
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(failed("cannot lock the intents counter"))?;
    let at = now();
    let mut new = 0usize;
    for encoded in intents {
        let intent = encoded.intent;
        let sequence = last + count_i64(new)? + 1;
        let inserted = sqlx::query(
            "INSERT INTO intents (intent_key, sequence, project, flow, source, system, entity, \
             operation, payload, lookup, idempotency_key, depends_on, status, attempts, \
             created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'pending', 0, $13, $13) \
             ON CONFLICT (intent_key) DO NOTHING",
        )
        .bind(&intent.key)
        .bind(sequence)
        .bind(&intent.project)
        .bind(&intent.flow)
        .bind(&intent.source)
        .bind(&intent.system)
        .bind(&intent.entity)
        .bind(&intent.operation)
        .bind(&encoded.payload)
        .bind(encoded.lookup.as_deref())
        .bind(intent.idempotency_key.as_deref())
        .bind(&encoded.depends_on)
        .bind(&at)
        .execute(&mut *conn)
        .await
        .map_err(failed("cannot record intent"))?
        .rows_affected();
        if inserted == 1 {
            new += 1;
        }
    }
    if new > 0 {
        sqlx::query("UPDATE counters SET value = $1 WHERE name = 'intents'")
            .bind(last + count_i64(new)?)
            .execute(&mut *conn)
            .await
            .map_err(failed("cannot advance the intents counter"))?;
    }
    Ok(new)
}
