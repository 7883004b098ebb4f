-- The whole of `Crm.Host --once` as ONE statement (one transaction): take every due interaction, insert its
-- notification exactly as src/Crm.Actors/Reminders/NotificationComposer.cs composes it (default templates,
-- Europe/Paris, TASK_DUE / HIGH, every column of SPEC §1), set notified_at and, as the service does by default,
-- announce each notification on the push channel. The WHERE, the skipped-occurrence check, FOR UPDATE SKIP LOCKED,
-- ON CONFLICT and the pg_notify payload are those of src/Crm.Actors/Storage/PostgresReminderStore.cs, so the
-- statement gives the same guarantees and does the same work as the service, not less.
-- psql variables: push (true: announce on push_channel, as the service's default; false: the service with
-- crm.reminders.push-channel = ""), push_channel (default crm_notifications).
\set ON_ERROR_STOP on
\if :{?push}
\else
  \set push true
\endif
\if :{?push_channel}
\else
  \set push_channel crm_notifications
\endif

WITH due AS (
  SELECT i.id, i.title, i.assignee_id, i.next_action_at,
         to_char(i.next_action_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at_utc,
         i.next_action_at AT TIME ZONE 'Europe/Paris' AS at_local
  FROM crm_interactions i
  WHERE i.status IN ('todo','in_progress') AND i.next_action_at <= now() AND i.notified_at IS NULL
    AND i.assignee_id IS NOT NULL
    AND NOT EXISTS (SELECT 1 FROM crm_actors.skipped_occurrences s
                    WHERE s.interaction_id = i.id AND s.next_action_at = i.next_action_at)
  FOR UPDATE OF i SKIP LOCKED
),
inserted AS (
  INSERT INTO notifications (user_id, type, priority, title, message, link, resource_type, resource_id, metadata,
                             is_read, is_archived, created_at, updated_at)
  SELECT d.assignee_id, 'TASK_DUE', 'HIGH',
         left('Rappel: ' || d.title, 255),
         left('Action prévue le ' || to_char(d.at_local, 'DD/MM/YYYY') || ' à ' || to_char(d.at_local, 'HH24:MI'), 1200),
         left('/dashboard/inbox?interaction_id=' || d.id, 500),
         'interaction', d.id,
         -- Byte for byte the JSON that System.Text.Json writes for the composer's dictionary.
         format('{"interaction_id":%s,"next_action_at":"%s","reminder_occurrence":"%s@%s","source":"crm-actors"}',
                d.id, d.at_utc, d.id, d.at_utc)::json,
         false, false, now(), now()
  FROM due d
  ON CONFLICT ((metadata->>'reminder_occurrence')) WHERE (metadata->>'reminder_occurrence') IS NOT NULL
  DO NOTHING
  RETURNING id, user_id, type, link
),
marked AS (
  UPDATE crm_interactions i SET notified_at = now() FROM due d WHERE i.id = d.id RETURNING 1
)
\if :push
, pushed AS (
  -- Delivered only if the transaction commits, as the service's.
  SELECT pg_notify(:'push_channel', json_build_object('id', n.id, 'user_id', n.user_id, 'type', n.type, 'link', n.link)::text)
  FROM inserted n
)
SELECT (SELECT count(*) FROM inserted) AS inserted, (SELECT count(*) FROM marked) AS marked,
       (SELECT count(*) FROM pushed) AS announced;
\else
SELECT (SELECT count(*) FROM inserted) AS inserted, (SELECT count(*) FROM marked) AS marked, 0 AS announced;
\endif
