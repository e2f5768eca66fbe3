namespace Ananas.Pipeline.Database;

/// <summary>
/// The central database's schema as numbered migrations, applied in order at start and recorded in
/// <c>schema_migrations</c>; a database newer than this build is refused. A migration is written once for both
/// dialects (<c>{binary}</c> and <c>{serial}</c> stand for the dialect's binary type and numbered key). Never edit a released migration: add one.
/// </summary>
public static class Migrations
{
    public static IReadOnlyList<(int Version, string Sql)> All { get; } =
    [
        (1, """
            CREATE TABLE zones (
                id TEXT PRIMARY KEY,
                name TEXT NOT NULL UNIQUE,
                records BIGINT NOT NULL,
                created_ms BIGINT NOT NULL,
                modified_ms BIGINT NOT NULL);
            CREATE TABLE dns_records (
                id TEXT PRIMARY KEY,
                zone_id TEXT NOT NULL REFERENCES zones(id),
                name TEXT NOT NULL,
                type TEXT NOT NULL,
                ttl BIGINT NOT NULL,
                content TEXT NOT NULL,
                rdata {binary} NOT NULL,
                created_ms BIGINT NOT NULL,
                modified_ms BIGINT NOT NULL);
            CREATE INDEX dns_records_owner ON dns_records (zone_id, name);
            CREATE UNIQUE INDEX dns_records_identity ON dns_records (zone_id, name, type, rdata);
            CREATE TABLE api_tokens (
                id TEXT PRIMARY KEY,
                sha256 {binary} NOT NULL UNIQUE,
                zone TEXT NULL,
                created_ms BIGINT NOT NULL);
            CREATE TABLE outbox (
                sequence BIGINT PRIMARY KEY,
                zone TEXT NOT NULL,
                kind TEXT NOT NULL,
                owners TEXT NOT NULL,
                committed_ms BIGINT NOT NULL,
                published_ms BIGINT NULL);
            CREATE INDEX outbox_unpublished ON outbox (sequence) WHERE published_ms IS NULL;
            CREATE TABLE outbox_counter (id INTEGER PRIMARY KEY, last_sequence BIGINT NOT NULL);
            INSERT INTO outbox_counter (id, last_sequence) VALUES (1, 0);
            """),
        // Changes no longer take the next sequence (and the counter row's lock, which ordered every commit) while they
        // commit: each adds a row here, numbered by the database, and the publisher moves rows into the outbox with
        // gapless sequences (CentralDatabase.Outbox.cs).
        (2, """
            CREATE TABLE outbox_pending (
                id {serial},
                zone TEXT NOT NULL,
                kind TEXT NOT NULL,
                owners TEXT NOT NULL,
                committed_ms BIGINT NOT NULL);
            """),
        // Every change to a record looks up the NS records naming its owner (the zone check rules): an index probe
        // instead of reading all the zone's records.
        (3, """
            CREATE INDEX dns_records_ns_target ON dns_records (zone_id, lower(content)) WHERE type = 'NS';
            """),
    ];

    public static int Latest => All[^1].Version;
}
