//! The export log (events) and fuzzy-match suggestions.

use std::str::FromStr;

use sqlx::any::AnyRow;
use sqlx::AnyConnection;

use super::{
    count_i64, failed, get, json_text, json_value, normalise_time, now, take_numbers, Event,
    EventFilter, EventKind, NewEvent, NewSuggestion, StateError, Store, Suggestion,
    SuggestionStatus,
};

/// `SELECT <every suggestions column> FROM suggestions`, as a literal for `concat!`.
macro_rules! select_suggestions {
    () => {
        "SELECT id, project, sync, system, record_id, candidate_system, candidate_id, score, \
         details, status, created_at, decided_at FROM suggestions"
    };
}

impl Store {
    /// Appends one entry to the export log.
    pub async fn log(&self, event: &NewEvent) -> Result<(), StateError> {
        let mut tx = self.begin().await?;
        insert_events(&mut tx, std::slice::from_ref(event)).await?;
        tx.commit().await.map_err(failed("cannot commit event"))
    }

    /// The project's events matching `filter`, oldest first (with a limit: the newest that many).
    pub async fn events(
        &self,
        project: &str,
        filter: &EventFilter,
    ) -> Result<Vec<Event>, StateError> {
        let since = filter.since.as_deref().map(normalise_time).transpose()?;
        let limit = filter.limit.map_or(i64::MAX, |l| l.max(0));
        let rows = sqlx::query(
            "SELECT id, at, project, flow, kind, source, target, intent_key, message, details \
             FROM events WHERE project = $1 AND ($2 IS NULL OR kind = $2) \
             AND ($3 IS NULL OR flow = $3) AND ($4 IS NULL OR at >= $4) \
             ORDER BY id DESC LIMIT $5",
        )
        .bind(project)
        .bind(filter.kind.map(EventKind::as_str))
        .bind(filter.flow.as_deref())
        .bind(since)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(failed("cannot read events"))?;
        let mut events = rows
            .iter()
            .map(event_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        events.reverse();
        Ok(events)
    }

    /// Records a fuzzy-match candidate as `pending`. Suggesting a pair again updates the score
    /// and details of a pending suggestion and leaves a decided one as it was (a rejected pair
    /// is not suggested again).
    pub async fn suggest(&self, s: &NewSuggestion) -> Result<(), StateError> {
        let details = json_text(&s.details)?;
        let mut tx = self.begin().await?;
        let id = take_numbers(&mut tx, "suggestions", 1).await?;
        sqlx::query(
            "INSERT INTO suggestions (id, project, sync, system, record_id, candidate_system, \
             candidate_id, score, details, status, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending', $10) \
             ON CONFLICT (project, sync, system, record_id, candidate_system, candidate_id) \
             DO UPDATE SET score = excluded.score, details = excluded.details \
             WHERE suggestions.status = 'pending'",
        )
        .bind(id)
        .bind(&s.project)
        .bind(&s.sync)
        .bind(&s.system)
        .bind(&s.id)
        .bind(&s.candidate_system)
        .bind(&s.candidate_id)
        .bind(&s.score)
        .bind(details)
        .bind(now())
        .execute(&mut *tx)
        .await
        .map_err(failed("cannot store suggestion"))?;
        tx.commit()
            .await
            .map_err(failed("cannot commit suggestion"))
    }

    /// The project's suggestions, optionally only those with `status`, oldest first.
    pub async fn suggestions(
        &self,
        project: &str,
        status: Option<SuggestionStatus>,
    ) -> Result<Vec<Suggestion>, StateError> {
        let rows = sqlx::query(concat!(
            select_suggestions!(),
            " WHERE project = $1 AND ($2 IS NULL OR status = $2) ORDER BY id"
        ))
        .bind(project)
        .bind(status.map(SuggestionStatus::as_str))
        .fetch_all(&self.pool)
        .await
        .map_err(failed("cannot read suggestions"))?;
        rows.iter().map(suggestion_from_row).collect()
    }

    /// Accepts or rejects a pending suggestion and returns it. Deciding it again the same way
    /// is accepted; the other way is a conflict. Accepting does not link the pair: the caller
    /// makes the [`Link`](super::Link) with the sides its sync defines.
    pub async fn decide_suggestion(&self, id: i64, accept: bool) -> Result<Suggestion, StateError> {
        let wanted = if accept {
            SuggestionStatus::Accepted
        } else {
            SuggestionStatus::Rejected
        };
        sqlx::query(
            "UPDATE suggestions SET status = $2, decided_at = $3 \
             WHERE id = $1 AND status = 'pending'",
        )
        .bind(id)
        .bind(wanted.as_str())
        .bind(now())
        .execute(&self.pool)
        .await
        .map_err(failed("cannot decide suggestion"))?;
        let row = sqlx::query(concat!(select_suggestions!(), " WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(failed("cannot read suggestion"))?;
        let suggestion = match row {
            Some(row) => suggestion_from_row(&row)?,
            None => return Err(StateError::not_found(format!("no suggestion {id}"))),
        };
        if suggestion.status != wanted {
            return Err(StateError::conflict(format!(
                "suggestion {id} is already {}",
                suggestion.status
            )));
        }
        Ok(suggestion)
    }
}

/// Appends events inside the caller's transaction, numbered from the `events` counter (whose
/// row stays locked until the transaction ends, so ids follow commit order).
pub(super) async fn insert_events(
    conn: &mut AnyConnection,
    events: &[NewEvent],
) -> Result<(), StateError> {
    if events.is_empty() {
        return Ok(());
    }
    // The log keeps data and server answers, which may echo a credential: scrub them.
    let details = events
        .iter()
        .map(|e| {
            let mut details = e.details.clone();
            crate::redact::scrub_json(&mut details);
            json_text(&details)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let first = take_numbers(conn, "events", count_i64(events.len())?).await?;
    // Taken after the counter lock, so `at` follows `id` (as far as the clock does).
    let at = now();
    for ((id, event), details) in (first..).zip(events).zip(details) {
        sqlx::query(
            "INSERT INTO events (id, at, project, flow, kind, source, target, intent_key, \
             message, details) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(id)
        .bind(&at)
        .bind(&event.project)
        .bind(event.flow.as_deref())
        .bind(event.kind.as_str())
        .bind(event.source.as_deref())
        .bind(event.target.as_deref())
        .bind(event.intent.as_deref())
        .bind(crate::redact::scrub(&event.message).as_ref())
        .bind(details)
        .execute(&mut *conn)
        .await
        .map_err(failed("cannot log event"))?;
    }
    Ok(())
}

fn event_from_row(row: &AnyRow) -> Result<Event, StateError> {
    let kind: String = get(row, "kind")?;
    let details: String = get(row, "details")?;
    Ok(Event {
        id: get(row, "id")?,
        at: get(row, "at")?,
        project: get(row, "project")?,
        flow: get(row, "flow")?,
        kind: EventKind::from_str(&kind)?,
        source: get(row, "source")?,
        target: get(row, "target")?,
        intent: get(row, "intent_key")?,
        message: get(row, "message")?,
        details: json_value(&details, "event details")?,
    })
}

fn suggestion_from_row(row: &AnyRow) -> Result<Suggestion, StateError> {
    let status: String = get(row, "status")?;
    let details: String = get(row, "details")?;
    Ok(Suggestion {
        id: get(row, "id")?,
        project: get(row, "project")?,
        sync: get(row, "sync")?,
        system: get(row, "system")?,
        record_id: get(row, "record_id")?,
        candidate_system: get(row, "candidate_system")?,
        candidate_id: get(row, "candidate_id")?,
        score: get(row, "score")?,
        details: json_value(&details, "suggestion details")?,
        status: SuggestionStatus::from_str(&status)?,
        created_at: get(row, "created_at")?,
        decided_at: get(row, "decided_at")?,
    })
}
