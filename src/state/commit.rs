//! One atomic step of the runtime: a source record (or a page of them) was evaluated.

use sqlx::AnyConnection;

use super::log::insert_events;
use super::{
    count_i64, failed, json_text, now, CommitOutcome, NewEvent, NewIntent, SourceStep, StateError,
    Store,
};

impl Store {
    /// Commits what evaluating one source record produced, in ONE transaction: upserts the
    /// snapshot (if given) or removes it (`forget`), inserts the intents whose keys are not recorded yet (existing keys
    /// are left untouched, so re-evaluating a record never duplicates an intent), appends the
    /// events and sets the watermark (if given). Either all of it is stored or nothing.
    pub async fn commit_source(&self, step: &SourceStep) -> Result<CommitOutcome, StateError> {
        let outcomes = self.commit_sources(std::slice::from_ref(step)).await?;
        Ok(outcomes
            .into_iter()
            .next()
            .unwrap_or(CommitOutcome { new_intents: 0 }))
    }

    /// Commits several source steps (a page of records) in ONE transaction, each as
    /// [`Store::commit_source`] would: either all of them are stored or none, so a record's
    /// snapshot and its intents are still always stored together. Returns one outcome per
    /// step, in order. Locks are taken in the documented order over the whole batch: the
    /// snapshot rows (in key order), the intents counter, the events counter, the watermark
    /// rows (in key order).
    pub async fn commit_sources(
        &self,
        steps: &[SourceStep],
    ) -> Result<Vec<CommitOutcome>, StateError> {
        if steps.is_empty() {
            return Ok(Vec::new());
        }
        // Encode everything before taking any lock.
        let mut snapshots = Vec::new();
        for step in steps {
            if let Some((key, fields, hash)) = &step.snapshot {
                snapshots.push((key, json_text(fields)?, hash));
            }
        }
        snapshots.sort_by(|a, b| {
            (&a.0.project, &a.0.system, &a.0.entity, &a.0.id).cmp(&(
                &b.0.project,
                &b.0.system,
                &b.0.entity,
                &b.0.id,
            ))
        });
        let mut intents = Vec::new();
        let mut owners = Vec::new();
        for (index, step) in steps.iter().enumerate() {
            for intent in &step.intents {
                intents.push(EncodedIntent::new(intent)?);
                owners.push(index);
            }
        }
        let mut watermarks: Vec<_> = steps.iter().filter_map(|s| s.watermark.as_ref()).collect();
        // The last value given for a cursor wins, as with one step after another.
        watermarks.reverse();
        watermarks.sort_by(|a, b| (&a.0, &a.1, &a.2).cmp(&(&b.0, &b.1, &b.2)));
        watermarks.dedup_by(|a, b| (&a.0, &a.1, &a.2) == (&b.0, &b.1, &b.2));

        let mut tx = self.begin().await?;
        let at = now();
        for (key, fields, hash) in snapshots {
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
            .bind(&at)
            .execute(&mut *tx)
            .await
            .map_err(failed("cannot store snapshot"))?;
        }
        for key in steps.iter().filter_map(|s| s.forget.as_ref()) {
            sqlx::query(
                "DELETE FROM snapshots \
                 WHERE project = $1 AND system = $2 AND entity = $3 AND record_id = $4",
            )
            .bind(&key.project)
            .bind(&key.system)
            .bind(&key.entity)
            .bind(&key.id)
            .execute(&mut *tx)
            .await
            .map_err(failed("cannot forget snapshot"))?;
        }
        let inserted = insert_intents(&mut tx, &intents).await?;
        let mut outcomes = vec![CommitOutcome { new_intents: 0 }; steps.len()];
        for (owner, new) in owners.into_iter().zip(inserted) {
            if new {
                outcomes[owner].new_intents += 1;
            }
        }
        let events: Vec<NewEvent> = steps.iter().flat_map(|s| s.events.clone()).collect();
        insert_events(&mut tx, &events).await?;
        for (project, system, entity, value) in watermarks {
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
            .bind(&at)
            .execute(&mut *tx)
            .await
            .map_err(failed("cannot store watermark"))?;
        }
        tx.commit()
            .await
            .map_err(failed("cannot commit source step"))?;
        Ok(outcomes)
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

/// Inserts the intents not recorded yet and says, per intent, whether it was new. Holds the
/// `intents` counter row from the first insert to the end of the transaction, which numbers
/// the new intents in commit order without gaps.
async fn insert_intents(
    conn: &mut AnyConnection,
    intents: &[EncodedIntent<'_>],
) -> Result<Vec<bool>, StateError> {
    if intents.is_empty() {
        return Ok(Vec::new());
    }
    let last: i64 = sqlx::query_scalar(
        "UPDATE counters SET value = value WHERE name = 'intents' RETURNING value",
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(failed("cannot lock the intents counter"))?;
    let at = now();
    let mut new = 0usize;
    let mut inserted_flags = Vec::with_capacity(intents.len());
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
        inserted_flags.push(inserted == 1);
    }
    if new > 0 {
        sqlx::query("UPDATE counters SET value = $1 WHERE name = 'intents'")
            .bind(last + count_i64(new)?)
            .execute(&mut *conn)
            .await
            .map_err(failed("cannot advance the intents counter"))?;
    }
    Ok(inserted_flags)
}
