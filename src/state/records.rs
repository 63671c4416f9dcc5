//! Snapshots, watermarks and links: what the store remembers about records.

use std::collections::HashMap;

use sqlx::{any::AnyRow, AssertSqlSafe};

use super::{failed, get, json_value, now, Link, RecordKey, Snapshot, StateError, Store};

impl Store {
    /// The last snapshot of a source record, if it was seen before.
    pub async fn snapshot(&self, key: &RecordKey) -> Result<Option<Snapshot>, StateError> {
        let row = sqlx::query(
            "SELECT fields, hash, seen_at FROM snapshots \
             WHERE project = $1 AND system = $2 AND entity = $3 AND record_id = $4",
        )
        .bind(&key.project)
        .bind(&key.system)
        .bind(&key.entity)
        .bind(&key.id)
        .fetch_optional(&self.pool)
        .await
        .map_err(failed("cannot read snapshot"))?;
        row.as_ref().map(snapshot_row).transpose()
    }

    /// The snapshots of several records of one source entity, by record id (records never
    /// seen are absent). One query per few hundred ids, so a page of records costs one round
    /// trip instead of one per record.
    pub async fn snapshots(
        &self,
        project: &str,
        system: &str,
        entity: &str,
        ids: &[String],
    ) -> Result<HashMap<String, Snapshot>, StateError> {
        let mut found = HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(ID_CHUNK) {
            let sql = format!(
                "SELECT record_id, fields, hash, seen_at FROM snapshots \
                 WHERE project = $1 AND system = $2 AND entity = $3 AND record_id IN ({})",
                placeholders(4, chunk.len())
            );
            let mut query = sqlx::query(AssertSqlSafe(sql))
                .bind(project)
                .bind(system)
                .bind(entity);
            for id in chunk {
                query = query.bind(id);
            }
            let rows = query
                .fetch_all(&self.pool)
                .await
                .map_err(failed("cannot read snapshots"))?;
            for row in &rows {
                found.insert(get(row, "record_id")?, snapshot_row(row)?);
            }
        }
        Ok(found)
    }

    /// Marks records as seen by a listing at `at`, leaving their snapshots as they are: after
    /// a complete listing, the snapshots not seen since it started are the records that are
    /// gone ([`Store::unseen_snapshots`]).
    pub async fn touch_snapshots(
        &self,
        project: &str,
        system: &str,
        entity: &str,
        ids: &[String],
        at: &str,
    ) -> Result<(), StateError> {
        for chunk in ids.chunks(ID_CHUNK) {
            let sql = format!(
                "UPDATE snapshots SET seen_at = $4 \
                 WHERE project = $1 AND system = $2 AND entity = $3 AND record_id IN ({})",
                placeholders(5, chunk.len())
            );
            let mut query = sqlx::query(AssertSqlSafe(sql))
                .bind(project)
                .bind(system)
                .bind(entity)
                .bind(at);
            for id in chunk {
                query = query.bind(id);
            }
            query
                .execute(&self.pool)
                .await
                .map_err(failed("cannot mark snapshots seen"))?;
        }
        Ok(())
    }

    /// Up to `limit` snapshots of a source entity last seen before `before`, oldest first.
    pub async fn unseen_snapshots(
        &self,
        project: &str,
        system: &str,
        entity: &str,
        before: &str,
        limit: i64,
    ) -> Result<Vec<(RecordKey, Snapshot)>, StateError> {
        let rows = sqlx::query(
            "SELECT record_id, fields, hash, seen_at FROM snapshots \
             WHERE project = $1 AND system = $2 AND entity = $3 AND seen_at < $4 \
             ORDER BY seen_at, record_id LIMIT $5",
        )
        .bind(project)
        .bind(system)
        .bind(entity)
        .bind(before)
        .bind(limit.max(0))
        .fetch_all(&self.pool)
        .await
        .map_err(failed("cannot read unseen snapshots"))?;
        keyed_snapshots(&rows, project, system, entity)
    }

    /// The `limit` most recently written snapshots of a project's source entity, newest
    /// first (ties by record id), with their keys: the records `ledgerlink diff` evaluates.
    pub async fn recent_snapshots(
        &self,
        project: &str,
        system: &str,
        entity: &str,
        limit: i64,
    ) -> Result<Vec<(RecordKey, Snapshot)>, StateError> {
        let rows = sqlx::query(
            "SELECT record_id, fields, hash, seen_at FROM snapshots \
             WHERE project = $1 AND system = $2 AND entity = $3 \
             ORDER BY seen_at DESC, record_id LIMIT $4",
        )
        .bind(project)
        .bind(system)
        .bind(entity)
        .bind(limit.max(0))
        .fetch_all(&self.pool)
        .await
        .map_err(failed("cannot read snapshots"))?;
        keyed_snapshots(&rows, project, system, entity)
    }

    /// The listing cursor of a project's source entity, if one was committed.
    pub async fn watermark(
        &self,
        project: &str,
        system: &str,
        entity: &str,
    ) -> Result<Option<String>, StateError> {
        sqlx::query_scalar(
            "SELECT value FROM watermarks WHERE project = $1 AND system = $2 AND entity = $3",
        )
        .bind(project)
        .bind(system)
        .bind(entity)
        .fetch_optional(&self.pool)
        .await
        .map_err(failed("cannot read watermark"))
    }

    /// Links two records (`created_at` is assigned by the store). Linking the same pair again
    /// is accepted; linking a record that already has another partner in this sync (on either
    /// side) is a [`StateErrorKind::Conflict`](super::StateErrorKind::Conflict): links are
    /// never re-pointed silently.
    pub async fn link(&self, link: &Link) -> Result<(), StateError> {
        if link.left_system == link.right_system && link.left_id == link.right_id {
            return Err(StateError::conflict(format!(
                "cannot link {}:{} to itself",
                link.left_system, link.left_id
            )));
        }
        let at = now();
        let mut tx = self.begin().await?;
        let mut ends = [
            (
                &link.left_system,
                &link.left_id,
                "left",
                &link.right_system,
                &link.right_id,
            ),
            (
                &link.right_system,
                &link.right_id,
                "right",
                &link.left_system,
                &link.left_id,
            ),
        ];
        // Insert the two ends in one fixed order whatever their sides, so that two workers
        // linking the same records concurrently wait for each other instead of deadlocking.
        ends.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        let mut inserted = 0;
        for (system, id, side, partner_system, partner_id) in ends {
            inserted += sqlx::query(
                "INSERT INTO links (project, sync, system, record_id, side, partner_system, \
                 partner_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                 ON CONFLICT (project, sync, system, record_id) DO NOTHING",
            )
            .bind(&link.project)
            .bind(&link.sync)
            .bind(system)
            .bind(id)
            .bind(side)
            .bind(partner_system)
            .bind(partner_id)
            .bind(&at)
            .execute(&mut *tx)
            .await
            .map_err(failed("cannot store link"))?
            .rows_affected();
        }
        if inserted == 2 {
            return tx.commit().await.map_err(failed("cannot commit link"));
        }
        tx.rollback()
            .await
            .map_err(failed("cannot roll back link"))?;

        let left = self
            .partner(&link.project, &link.sync, &link.left_system, &link.left_id)
            .await?;
        let right = self
            .partner(
                &link.project,
                &link.sync,
                &link.right_system,
                &link.right_id,
            )
            .await?;
        let same = |existing: &Option<Link>| {
            existing.as_ref().is_some_and(|e| {
                (&e.left_system, &e.left_id, &e.right_system, &e.right_id)
                    == (
                        &link.left_system,
                        &link.left_id,
                        &link.right_system,
                        &link.right_id,
                    )
            })
        };
        if same(&left) && same(&right) {
            return Ok(());
        }
        let describe = |system: &str, id: &str, existing: &Option<Link>| {
            existing.as_ref().map(|e| {
                let (partner_system, partner_id) = if e.left_system == system && e.left_id == id {
                    (&e.right_system, &e.right_id)
                } else {
                    (&e.left_system, &e.left_id)
                };
                format!("{system}:{id} is already linked to {partner_system}:{partner_id}")
            })
        };
        let reasons: Vec<String> = [
            describe(&link.left_system, &link.left_id, &left),
            describe(&link.right_system, &link.right_id, &right),
        ]
        .into_iter()
        .flatten()
        .collect();
        Err(StateError::conflict(format!(
            "cannot link {}:{} with {}:{} in sync {}: {}",
            link.left_system,
            link.left_id,
            link.right_system,
            link.right_id,
            link.sync,
            if reasons.is_empty() {
                "the link changed meanwhile".to_string()
            } else {
                reasons.join("; ")
            }
        )))
    }

    /// Every link of a sync, ordered by left system and id.
    pub async fn links(&self, project: &str, sync: &str) -> Result<Vec<Link>, StateError> {
        let rows = sqlx::query(
            "SELECT project, sync, system, record_id, side, partner_system, partner_id, \
             created_at FROM links WHERE project = $1 AND sync = $2 AND side = 'left' \
             ORDER BY system, record_id",
        )
        .bind(project)
        .bind(sync)
        .fetch_all(&self.pool)
        .await
        .map_err(failed("cannot read links"))?;
        rows.iter().map(link_from_row).collect()
    }

    /// The link of a record in a sync, whichever side it is on.
    pub async fn partner(
        &self,
        project: &str,
        sync: &str,
        system: &str,
        id: &str,
    ) -> Result<Option<Link>, StateError> {
        let row = sqlx::query(
            "SELECT project, sync, system, record_id, side, partner_system, partner_id, \
             created_at FROM links \
             WHERE project = $1 AND sync = $2 AND system = $3 AND record_id = $4",
        )
        .bind(project)
        .bind(sync)
        .bind(system)
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(failed("cannot read link"))?;
        row.as_ref().map(link_from_row).transpose()
    }
}

/// A link from the row of one of its ends.
fn link_from_row(row: &AnyRow) -> Result<Link, StateError> {
    let side: String = get(row, "side")?;
    let end: (String, String) = (get(row, "system")?, get(row, "record_id")?);
    let partner: (String, String) = (get(row, "partner_system")?, get(row, "partner_id")?);
    let ((left_system, left_id), (right_system, right_id)) = match side.as_str() {
        "left" => (end, partner),
        "right" => (partner, end),
        other => {
            return Err(StateError::query(
                "unknown link side",
                format_args!("{other:?}"),
            ))
        }
    };
    Ok(Link {
        project: get(row, "project")?,
        sync: get(row, "sync")?,
        left_system,
        left_id,
        right_system,
        right_id,
        created_at: get(row, "created_at")?,
    })
}

/// Ids bound per `IN (…)` query: far below SQLite's and PostgreSQL's parameter limits.
const ID_CHUNK: usize = 500;

/// `$first, $first+1, …` — `count` numbered placeholders for bound parameters.
fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Rows with `record_id`, `fields`, `hash` and `seen_at` of one source entity, with their keys.
fn keyed_snapshots(
    rows: &[AnyRow],
    project: &str,
    system: &str,
    entity: &str,
) -> Result<Vec<(RecordKey, Snapshot)>, StateError> {
    rows.iter()
        .map(|row| {
            let key = RecordKey {
                project: project.to_string(),
                system: system.to_string(),
                entity: entity.to_string(),
                id: get(row, "record_id")?,
            };
            Ok((key, snapshot_row(row)?))
        })
        .collect()
}

/// A snapshot from a row with `fields`, `hash` and `seen_at`.
fn snapshot_row(row: &AnyRow) -> Result<Snapshot, StateError> {
    let fields: String = get(row, "fields")?;
    Ok(Snapshot {
        fields: json_value(&fields, "snapshot fields")?,
        hash: get(row, "hash")?,
        seen_at: get(row, "seen_at")?,
    })
}
