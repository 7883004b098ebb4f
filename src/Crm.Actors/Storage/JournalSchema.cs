namespace Crm.Actors.Storage;

/// <summary>
/// The supervisor's journal tables, in Akka.Persistence.Sql's own layout, for either database. The service's
/// migrations create them, not the plugin at start: a plugin that finds no table while the database is down
/// gives up for good, and the journal could never catch up.
/// </summary>
public static class JournalSchema
{
    public sealed record Dialect(string Prefix, string Ordering, string Bool, string Text, string Blob);

    public static readonly Dialect Postgres = new("crm_actors.", "bigint GENERATED ALWAYS AS IDENTITY", "boolean", "text", "bytea");
    public static readonly Dialect Sqlite = new("", "INTEGER", "Bit", "NVarChar(255)", "VarBinary");

    /// <summary>Idempotent statements, one per table or index.</summary>
    public static IReadOnlyList<string> Statements(Dialect d) =>
    [
        $"""
        CREATE TABLE IF NOT EXISTS {d.Prefix}journal (
            ordering        {d.Ordering} {(d == Sqlite ? "NOT NULL PRIMARY KEY AUTOINCREMENT" : "CONSTRAINT \"PK_journal\" PRIMARY KEY")},
            created         bigint  NOT NULL,
            deleted         {d.Bool} NOT NULL,
            persistence_id  {d.Text} NOT NULL,
            sequence_number bigint  NOT NULL,
            message         {d.Blob} NOT NULL,
            manifest        {d.Text},
            identifier      integer,
            writer_uuid     {d.Text},
            CONSTRAINT journal_uq UNIQUE (persistence_id, sequence_number))
        """,
        $"CREATE INDEX IF NOT EXISTS journal_created_idx ON {d.Prefix}journal (created)",
        $"CREATE INDEX IF NOT EXISTS journal_sequence_number_idx ON {d.Prefix}journal (sequence_number)",
        $"""
        CREATE TABLE IF NOT EXISTS {d.Prefix}tags (
            ordering_id    bigint NOT NULL,
            tag            {d.Text} NOT NULL,
            sequence_nr    bigint NOT NULL,
            persistence_id {d.Text} NOT NULL,
            CONSTRAINT "PK_tags" PRIMARY KEY (ordering_id, tag))
        """,
        $"CREATE INDEX IF NOT EXISTS tags_persistence_id_sequence_nr_idx ON {d.Prefix}tags (persistence_id, sequence_nr)",
        $"CREATE INDEX IF NOT EXISTS tags_tag_idx ON {d.Prefix}tags (tag)",
        // The snapshot store's table (Akka.Persistence.Sql's default mapping): a journal's state every so many events.
        $"""
        CREATE TABLE IF NOT EXISTS {d.Prefix}snapshot (
            persistence_id  {d.Text} NOT NULL,
            sequence_number bigint  NOT NULL,
            created         bigint  NOT NULL,
            snapshot        {d.Blob} NOT NULL,
            manifest        {d.Text} NOT NULL,
            serializer_id   integer,
            CONSTRAINT "PK_snapshot" PRIMARY KEY (persistence_id, sequence_number))
        """,
    ];
}
