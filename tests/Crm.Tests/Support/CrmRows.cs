namespace Crm.Tests.Support;

/// <summary>
/// Rows of the CRM's real schema (tests/fixtures/crm_schema.sql) for tests to insert. Its models fill many NOT
/// NULL columns in Python, not in the database, so a test row names them all, as the CRM's own code would.
/// </summary>
public static class CrmRows
{
    /// <summary>Users with the given ids (email userN@example.com); existing ids are left alone.</summary>
    public static string Users(params int[] ids) => $"""
        INSERT INTO users (id, email, full_name, hashed_password, is_active, is_superuser, outlook_connected,
                           outlook_consent_given, o365_connected, o365_consent_given, imap_connected, cgu_accepted,
                           totp_enabled, subscription_status)
        SELECT g, 'user' || g || '@example.com', 'User ' || g, 'x', true, false, false, false, false, false, false, true, false, 'active'
        FROM unnest(ARRAY[{string.Join(",", ids)}]::int[]) g
        ON CONFLICT DO NOTHING;
        """;

    /// <summary>Organisation 1, "ACME".</summary>
    public const string Organisation = """
        INSERT INTO organisations (id, nom, type, language, email_unsubscribed, pipeline_stage, is_anonymized)
        VALUES (1, 'ACME', 'CLIENT', 'fr', false, 'LEAD', false)
        ON CONFLICT DO NOTHING;
        """;

    /// <summary>The columns an interaction needs besides its own data (org 1, created by <paramref name="createdBy"/>).</summary>
    public static string InteractionColumns => "org_id, type, created_by, attachments, external_participants";

    public static string InteractionValues(int createdBy = 1) => $"1, 'call', {createdBy}, '[]', '[]'";
}
