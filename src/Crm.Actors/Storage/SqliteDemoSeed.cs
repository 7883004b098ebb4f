using Crm.Actors.Domain;
using Microsoft.Data.Sqlite;

namespace Crm.Actors.Storage;

/// <summary><c>--demo</c>: sample users and interactions in the embedded database, so that a first run shows reminders.</summary>
public static class SqliteDemoSeed
{
    /// <summary>How many of the samples get a reminder, all within <see cref="Span"/> of the seeding.</summary>
    public const int Reminders = 11;

    public static readonly TimeSpan Span = TimeSpan.FromMinutes(3);

    /// <summary>Adds sample users and interactions (SPEC §2 <c>--demo</c>): reminders coming due over the next minutes.</summary>
    public static async Task SeedAsync(string path, TimeProvider clock, CancellationToken ct = default)
    {
        await using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path }.ToString());
        await connection.OpenAsync(ct);
        var now = clock.GetUtcNow();
        await using var users = new SqliteCommand("""
            INSERT OR IGNORE INTO users (id, email, full_name) VALUES
              (1, 'alice@example.com', 'Alice Martin'), (2, 'bob@example.com', 'Bob Durand')
            """, connection);
        await users.ExecuteNonQueryAsync(ct);
        // A living dashboard for a first look: a reminder comes due a few seconds after the start, then one every
        // 15 s or so for three minutes, each written on time; and rows that must never get one.
        (string Title, string Status, int? Assignee, TimeSpan? Offset)[] samples =
        [
            ("Rappeler ACME pour le devis", "todo", 1, TimeSpan.FromSeconds(3)),
            ("Relancer Dupont & Fils", "in_progress", 2, TimeSpan.FromSeconds(15)),
            ("Préparer la visio avec Globex", "todo", 1, TimeSpan.FromSeconds(30)),
            ("Envoyer la proposition à Initech", "todo", 2, TimeSpan.FromSeconds(45)),
            ("Point trimestriel Umbrella", "todo", 1, TimeSpan.FromSeconds(60)),
            ("Confirmer le rendez-vous Stark", "in_progress", 2, TimeSpan.FromSeconds(75)),
            ("Relire le contrat Wayne", "todo", 1, TimeSpan.FromSeconds(90)),
            ("Appeler Soylent pour la démo", "todo", 2, TimeSpan.FromSeconds(105)),
            ("Envoyer les tarifs à Hooli", "todo", 1, TimeSpan.FromSeconds(120)),
            ("Relancer Vandelay Industries", "in_progress", 2, TimeSpan.FromSeconds(150)),
            ("Bilan mensuel Cyberdyne", "todo", 1, TimeSpan.FromSeconds(180)),
            ("Dossier clos: aucun rappel", "done", 1, TimeSpan.FromSeconds(20)),
            ("Sans responsable: aucun rappel", "todo", null, TimeSpan.FromSeconds(20)),
            ("Sans date: aucun rappel", "todo", 2, null),
            ("La semaine prochaine", "todo", 2, TimeSpan.FromDays(7)),
        ];
        foreach (var (title, status, assignee, offset) in samples)
        {
            await using var insert = new SqliteCommand(
                "INSERT INTO crm_interactions (title, status, assignee_id, next_action_at) VALUES (@title, @status, @assignee, @at)", connection);
            insert.Parameters.AddWithValue("@title", title);
            insert.Parameters.AddWithValue("@status", status);
            insert.Parameters.AddWithValue("@assignee", (object?)assignee ?? DBNull.Value);
            insert.Parameters.AddWithValue("@at", offset is { } o ? ReminderOccurrence.FormatInstant(now + o) : DBNull.Value);
            await insert.ExecuteNonQueryAsync(ct);
        }
    }
}
