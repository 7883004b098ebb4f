-- Adds :n interactions that are (or will be) due, on a database seeded by bench/seed.sql (its 20 users,
-- organisation 1 and person 1). Every row is valid on the CRM's real schema (tests/fixtures/crm_schema.sql).
-- psql variables:
--   n        how many rows
--   from_s   next_action_at of the first row, in seconds from now() (negative: already due)
--   to_s     next_action_at of the last row; the rows are spread evenly between the two
--   tag      a word put in each title (which scenario, which wave)
-- Every row is due once its date has come: status todo/in_progress, an assignee, notified_at NULL.
\set ON_ERROR_STOP on

INSERT INTO crm_interactions
  (org_id, person_id, type, title, body, created_by, status, assignee_id, next_action_at, notified_at,
   interaction_date, created_at, updated_at, attachments, external_participants)
SELECT 1,
       CASE WHEN g % 2 = 0 THEN 1 END,
       (ARRAY['call','email','meeting','visio','note','other'])[1 + g % 6]::interaction_type,
       'Relancer Mme Dupont — ' || :'tag' || ' (réf. ' || g || ')',
       'Rappel de test du banc de chaos.',
       1 + g % 20,
       CASE WHEN g % 3 = 0 THEN 'in_progress' ELSE 'todo' END::interaction_status,
       1 + (g * 7) % 20,
       now() + make_interval(secs => :from_s + (:to_s - :from_s) * (g - 1)::float8 / greatest(:n - 1, 1)),
       NULL,
       now() - interval '100 days',
       now() - interval '100 days',
       now() - interval '100 days',
       '[]', '[]'
FROM generate_series(1, :n) AS g
ORDER BY random();
