-- Seeds a database that already has tests/fixtures/crm_schema.sql (the CRM's real schema) and `Crm.Host --migrate`
-- applied. The CRM's models fill many NOT NULL columns in Python: the rows below name them all.
-- psql variables: due (rows the reminder service must notify), not_due (rows it must leave alone).
--
-- Everything is set-based (generate_series). Due and not-due rows are shuffled together so that ids and
-- dates interleave as in a real table. The not-due rows are split evenly over the five ways of not being due:
-- a future date (kind 1), status done (2), no assignee (3), already notified (4), no date at all (5).
\set ON_ERROR_STOP on

INSERT INTO users (id, email, hashed_password, is_active, is_superuser, outlook_connected, outlook_consent_given,
                   o365_connected, o365_consent_given, imap_connected, cgu_accepted, totp_enabled, subscription_status, full_name)
SELECT g, 'user' || g || '@agence-exemple.fr', 'x', true, false, false, false, false, false, false, true, false, 'active',
       (ARRAY['Camille','Julien','Sophie','Thomas','Léa','Nicolas','Chloé','Maxime','Manon','Antoine'])[1 + g % 10]
       || ' ' ||
       (ARRAY['Martin','Bernard','Dubois','Durand','Lefèvre','Moreau','Laurent','Simon'])[1 + g % 8]
FROM generate_series(1, 20) AS g;

INSERT INTO organisations (id, nom, type, language, email_unsubscribed, pipeline_stage, is_anonymized)
VALUES (1, 'Agence Immobilière du Centre SAS', 'CLIENT', 'fr', false, 'LEAD', false);
INSERT INTO people (id, prenom, nom, email_unsubscribed, is_anonymized) VALUES (1, 'Marie', 'Dupont', false, false);

SELECT setseed(0.42);

INSERT INTO crm_interactions
  (org_id, person_id, type, title, body, created_by, status, assignee_id, next_action_at, notified_at,
   interaction_date, created_at, updated_at, attachments, external_participants)
SELECT 1,
       CASE WHEN s.g % 2 = 0 THEN 1 END,
       (ARRAY['call','email','meeting','visio','note','other'])[1 + s.g % 6]::interaction_type,
       -- Titles of 50 to 110 characters, with accents, as salespeople type them.
       (ARRAY['Relancer', 'Rappeler', 'Envoyer la proposition commerciale à', 'Préparer le rendez-vous avec',
              'Confirmer la visio avec', 'Faire le point sur le devis avec', 'Organiser la visite avec',
              'Transmettre le mandat signé à'])[1 + s.g % 8]
       || ' ' ||
       (ARRAY['Mme Dupont', 'M. Martin', 'Mme Lefèvre', 'M. Nguyen', 'Mme Girard', 'M. Bonnet', 'Mme Rousseau',
              'M. Fontaine', 'Mme Chevalier', 'M. Garnier'])[1 + (s.g / 8) % 10]
       || ' — ' ||
       (ARRAY['mandat de vente exclusif', 'renouvellement du contrat annuel', 'signature du compromis',
              'estimation de l''appartement rue de la République', 'dossier de financement',
              'visite du local commercial', 'offre d''achat reçue'])[1 + (s.g / 80) % 7]
       || ' (réf. ' || s.g || ')',
       'Échange du ' || to_char(now() - interval '100 days', 'DD/MM/YYYY')
       || ' : le client souhaite recevoir une proposition actualisée avant la fin du mois ; '
       || 'points ouverts : honoraires, calendrier de signature, pièces justificatives manquantes.',
       1 + s.g % 20,
       CASE WHEN s.kind = 2 THEN 'done'
            WHEN s.g % 3 = 0 THEN 'in_progress'
            ELSE 'todo' END::interaction_status,
       CASE WHEN s.kind = 3 THEN NULL ELSE 1 + (s.g * 7) % 20 END,
       CASE WHEN s.kind = 1 THEN now() + make_interval(secs => 3600 + s.r * 60 * 86400)   -- future, up to 60 days
            WHEN s.kind = 5 THEN NULL                                                   -- no date
            ELSE now() - make_interval(secs => 60 + s.r * 90 * 86400) END,               -- past, up to 90 days
       CASE WHEN s.kind = 4 THEN now() - make_interval(secs => 60 + s.r * 90 * 86400) + interval '5 minutes' END,
       now() - make_interval(secs => 100 * 86400 + s.r * 86400),
       now() - interval '100 days',
       now() - interval '100 days',
       '[]', '[]'
FROM (SELECT k.g, k.kind, random() AS r
      FROM (SELECT g, 0 AS kind FROM generate_series(1, :due) AS g              -- kind 0: due
            UNION ALL
            SELECT g, 1 + g % 5 FROM generate_series(1, :not_due) AS g) AS k    -- kinds 1..5: not due
      ) AS s
ORDER BY random();
