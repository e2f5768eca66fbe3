using System.Data.Common;
using System.Text;
using Ananas.Dns;
using Ananas.Dns.Records;
using Ananas.Pipeline.Api;
using Ananas.Pipeline.Records;

namespace Ananas.Pipeline.Database;

/// <summary>The outcome of a change: its value, or why nothing was stored.</summary>
public readonly record struct ChangeResult<T>(T? Value, ApiFailure? Failure)
{
    public static implicit operator ChangeResult<T>(ApiFailure failure) => new(default, failure);
}

/// <summary>The kinds of outbox entry (the <c>kind</c> column).</summary>
public static class OutboxKind
{
    /// <summary>Records of the listed owner names changed.</summary>
    public const string SetNodes = "set";

    /// <summary>The zone was created or bulk-imported: the whole zone.</summary>
    public const string ReplaceZone = "replace";

    public const string DeleteZone = "delete";
}

/// <summary>
/// Changes. Each runs in one write transaction: it locks its zone (writers of one zone take turns, so the
/// checks see what is stored now), validates, sends its writes and its outbox_pending row in one round trip, then
/// commits; any failure rolls all of it back. The pending row's id is taken by that last statement, after the zone
/// lock, so of two changes that conflict (one waited for the other's lock, or read what it committed) the later has
/// the higher id; the publisher gives the gapless outbox sequences in that order (CentralDatabase.Outbox.cs). Nothing
/// orders commits of unrelated zones: no lock is shared by every writer.
/// </summary>
public sealed partial class CentralDatabase
{
    /// <summary>A write transaction in progress.</summary>
    internal sealed class Change(DbConnection connection, DbTransaction transaction, bool commitWithLastStatement, bool writesAsCommonTables)
    {
        private readonly List<string> _deferredSql = [];
        private readonly List<(string Name, object? Value)> _deferredParameters = [];

        public DbConnection Connection { get; } = connection;
        public DbTransaction Transaction { get; } = transaction;
        public bool Recorded { get; set; }
        public long Now { get; } = NowMs();

        /// <summary>The outbox row's statement carries the COMMIT (<see cref="SqlDialect.CommitsWithLastStatement"/>).</summary>
        public bool CommitWithLastStatement { get; } = commitWithLastStatement;

        /// <summary>The COMMIT went with the outbox row.</summary>
        public bool Committed { get; set; }

        public DbCommand Command(string sql, params (string Name, object? Value)[] parameters) => CentralDatabase.Command(Connection, Transaction, sql, parameters);

        public async Task ExecuteAsync(string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
        {
            using var command = Command(sql, parameters);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        /// <summary>A write sent later with the outbox row, in the same round trip (its parameters renamed apart).</summary>
        public void Defer(string sql, params (string Name, object? Value)[] parameters)
        {
            string prefix = "w" + _deferredParameters.Count.ToString(System.Globalization.CultureInfo.InvariantCulture) + "_";
            sql = ParameterReference().Replace(sql, m => parameters.Any(p => p.Name == m.Groups[1].Value) ? "@" + prefix + m.Groups[1].Value : m.Value);
            _deferredSql.Add(sql);
            foreach (var (name, value) in parameters) _deferredParameters.Add((prefix + name, value));
        }

        /// <summary>
        /// The deferred writes followed by <paramref name="sql"/>, as one command: on PostgreSQL one statement, the
        /// writes as its data-modifying WITH parts (<see cref="SqlDialect.WritesAsCommonTables"/>), else one statement each.
        /// </summary>
        public DbCommand WithDeferred(string sql, params (string Name, object? Value)[] parameters)
        {
            var text = new StringBuilder();
            for (int i = 0; i < _deferredSql.Count; i++)
            {
                if (!writesAsCommonTables) text.Append(_deferredSql[i]).Append("; ");
                else text.Append(i == 0 ? "WITH w" : ", w").Append(i).Append(" AS (").Append(_deferredSql[i]).Append(')').Append(i == _deferredSql.Count - 1 ? " " : "");
            }
            return Command(text.Append(sql).ToString(), [.. _deferredParameters, .. parameters]);
        }
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"@(\w+)")]
    private static partial System.Text.RegularExpressions.Regex ParameterReference();

    internal async Task<ChangeResult<T>> ChangeAsync<T>(Func<Change, Task<ChangeResult<T>>> body, CancellationToken cancellationToken)
    {
        await using var connection = await Dialect.OpenAsync(cancellationToken);
        await using var transaction = await Dialect.BeginWriteAsync(connection, cancellationToken);
        var change = new Change(connection, transaction, Dialect.CommitsWithLastStatement, Dialect.WritesAsCommonTables);
        var result = await body(change);
        if (result.Failure is not null)
        {
            await transaction.RollbackAsync(cancellationToken);
            return result;
        }
        if (!change.Recorded) throw new InvalidOperationException("a change committed without its outbox entry");
        if (!change.Committed) await transaction.CommitAsync(cancellationToken);
        OnCommitted();
        return result;
    }

    /// <summary>
    /// The change's last statement, with its deferred writes: the outbox_pending row, numbered by the database as it
    /// is inserted (so after the zone lock was taken), and on PostgreSQL the COMMIT, all in one round trip. A
    /// statement that fails makes the server skip the rest of the batch, the COMMIT too; the transaction then rolls back.
    /// </summary>
    private static async Task RecordOutboxAsync(Change change, DnsName zone, string kind, IEnumerable<DnsName> owners, CancellationToken cancellationToken)
    {
        using var command = change.WithDeferred("INSERT INTO outbox_pending (zone, kind, owners, committed_ms) VALUES (@z, @k, @o, @t)" +
            (change.CommitWithLastStatement ? "; COMMIT" : ""),
            ("z", zone.ToString()), ("k", kind), ("o", string.Join('\n', owners.Select(o => o.ToLowerCase().ToString()).Distinct())), ("t", NowMs()));
        await command.ExecuteNonQueryAsync(cancellationToken);
        change.Recorded = true;
        change.Committed = change.CommitWithLastStatement;
    }

    private const string InsertRecordSql = $"INSERT INTO dns_records ({RecordColumns}) VALUES (@id, @zone, @name, @type, @ttl, @content, @rdata, @created, @modified)";

    private static (string Name, object? Value)[] RecordParameters(string zoneId, ResourceRecord record, string id, long created, long modified) =>
        [("id", id), ("zone", zoneId), ("name", record.Name.ToLowerCase().ToString()), ("type", RRTypeText.ToText(record.Type)),
            ("ttl", (long)record.Ttl), ("content", record.Data.ToString()), ("rdata", record.Data.ToWire()), ("created", created), ("modified", modified)];

    private static Task InsertRecordAsync(Change change, string zoneId, ResourceRecord record, CancellationToken cancellationToken) =>
        change.ExecuteAsync(InsertRecordSql, cancellationToken, RecordParameters(zoneId, record, NewId(), change.Now, change.Now));

    /// <summary>The zone's row, with the zone locked until the change commits (<see cref="SqlDialect.ZoneLockSql"/>).</summary>
    private async Task<ZoneRow?> LockZoneAsync(Change change, string id, CancellationToken cancellationToken)
    {
        using var command = change.Command(ZoneLocked($"SELECT {ZoneColumns} FROM zones WHERE id = @zone"), ("zone", id));
        await using var reader = await ReadLockedAsync(command, cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadZone(reader) : null;
    }

    /// <summary>The records around a record's owner (<see cref="AroundAsync"/>), read before the owners of the change were known.</summary>
    private sealed record Around(DnsName[] Owners, List<RecordRow> Rows, List<RecordRow> Naming);

    /// <summary>
    /// The zone's row, with the zone locked as by <see cref="LockZoneAsync"/>, one of its records, and the records
    /// around the apex and that record's owner, all in one round trip. The record is among those at its owner, so it
    /// is not read on its own (a statement less per change).
    /// </summary>
    private async Task<(ZoneRow? Zone, RecordRow? Record, Around? Around)> LockZoneWithRecordAsync(Change change, string zoneId, string recordId,
        CancellationToken cancellationToken)
    {
        const string owner = "(SELECT name FROM dns_records WHERE zone_id = @zone AND id = @id)";
        using var command = change.Command(ZoneLocked($"SELECT {ZoneColumns} FROM zones WHERE id = @zone; " +
            $"SELECT {RecordColumns} FROM dns_records WHERE zone_id = @zone AND name IN ((SELECT name FROM zones WHERE id = @zone), {owner}); " +
            $"SELECT {RecordColumns} FROM dns_records WHERE zone_id = @zone AND type = 'NS' AND lower(content) IN ({owner})"), ("zone", zoneId), ("id", recordId));
        await using var reader = await ReadLockedAsync(command, cancellationToken);
        var zone = await reader.ReadAsync(cancellationToken) ? ReadZone(reader) : null;
        var results = new List<RecordRow>[2];
        for (int i = 0; i < results.Length; i++)
        {
            results[i] = [];
            if (!await reader.NextResultAsync(cancellationToken)) throw new InvalidDataException("the database returned fewer results than statements");
            while (await reader.ReadAsync(cancellationToken)) results[i].Add(ReadRecord(reader));
        }
        var record = zone is null ? null : results[0].Find(r => r.Id == recordId);
        if (record is null) return (zone, null, null);
        return (zone, record, new Around([zone!.Name, record.Name], results[0], results[1]));
    }

    /// <summary>The lock statement, then <paramref name="sql"/> (each statement reads what is committed when it starts: after the lock).</summary>
    private string ZoneLocked(string sql) => Dialect.ZoneLockSql is { } zoneLock ? zoneLock + "; " + sql : sql;

    /// <summary>A reader positioned at the first result after the lock statement's.</summary>
    private async Task<DbDataReader> ReadLockedAsync(DbCommand command, CancellationToken cancellationToken)
    {
        var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (Dialect.ZoneLockSql is not null) await reader.NextResultAsync(cancellationToken);
        return reader;
    }

    private static ApiFailure ZoneMissing(string id) => new(404, ErrorCodes.ZoneNotFound, $"no zone with id '{id}'", "zone_id");

    /// <summary>Creates a zone from its records (already parsed and in the zone); errors of the zone check rules refuse it.</summary>
    public Task<ChangeResult<ZoneRow>> CreateZoneAsync(DnsName apex, IReadOnlyList<ResourceRecord> records, CancellationToken cancellationToken) =>
        ChangeAsync<ZoneRow>(async change =>
        {
            apex = apex.ToLowerCase();
            if (await GetZoneByNameAsync(change.Connection, change.Transaction, apex, cancellationToken) is not null)
                return new ApiFailure(409, ErrorCodes.ZoneExists, $"zone {RecordReader.Show(apex)} already exists", "name");
            var unique = Distinct(records);
            if (TooMany(unique.Count) is { } tooMany) return tooMany;
            if (ZoneRules.Errors(apex, unique) is { Count: > 0 } errors) return new ApiFailure(400, errors);
            var zone = new ZoneRow(NewId(), apex, change.Now, change.Now, unique.Count);
            await change.ExecuteAsync("INSERT INTO zones (id, name, records, created_ms, modified_ms) VALUES (@id, @name, @n, @t, @t)", cancellationToken,
                ("id", zone.Id), ("name", apex.ToString()), ("n", (long)unique.Count), ("t", change.Now));
            foreach (var record in unique) await InsertRecordAsync(change, zone.Id, record, cancellationToken);
            await RecordOutboxAsync(change, apex, OutboxKind.ReplaceZone, [], cancellationToken);
            return new(zone, null);
        }, cancellationToken);

    public Task<ChangeResult<ZoneRow>> DeleteZoneAsync(string id, CancellationToken cancellationToken) =>
        ChangeAsync<ZoneRow>(async change =>
        {
            if (await LockZoneAsync(change, id, cancellationToken) is not { } zone) return ZoneMissing(id);
            await change.ExecuteAsync("DELETE FROM dns_records WHERE zone_id = @id", cancellationToken, ("id", id));
            await change.ExecuteAsync("DELETE FROM zones WHERE id = @id", cancellationToken, ("id", id));
            await RecordOutboxAsync(change, zone.Name, OutboxKind.DeleteZone, [], cancellationToken);
            return new(zone, null);
        }, cancellationToken);

    public Task<ChangeResult<RecordRow>> AddRecordAsync(string zoneId, RecordInput input, CancellationToken cancellationToken) =>
        ChangeAsync<RecordRow>(async change =>
        {
            if (await LockZoneAsync(change, zoneId, cancellationToken) is not { } zone) return ZoneMissing(zoneId);
            var errors = new List<ApiError>();
            if (RecordReader.Parse(input, zone.Name, errors) is not { } record) return new ApiFailure(400, errors);
            return await ApplyAsync(change, zone, null, record, cancellationToken);
        }, cancellationToken);

    /// <param name="merge">The new record from the stored one: the whole input (PUT) or the input over the stored fields (PATCH).</param>
    public Task<ChangeResult<RecordRow>> UpdateRecordAsync(string zoneId, string recordId, Func<RecordRow, RecordInput> merge, CancellationToken cancellationToken) =>
        ChangeAsync<RecordRow>(async change =>
        {
            var (zone, old, around) = await LockZoneWithRecordAsync(change, zoneId, recordId, cancellationToken);
            if (zone is null) return ZoneMissing(zoneId);
            if (old is null) return RecordMissing(recordId);
            var errors = new List<ApiError>();
            if (RecordReader.Parse(merge(old), zone.Name, errors) is not { } record) return new ApiFailure(400, errors);
            return await ApplyAsync(change, zone, old, record, cancellationToken, around);
        }, cancellationToken);

    public Task<ChangeResult<RecordRow>> DeleteRecordAsync(string zoneId, string recordId, CancellationToken cancellationToken) =>
        ChangeAsync<RecordRow>(async change =>
        {
            var (zone, old, around) = await LockZoneWithRecordAsync(change, zoneId, recordId, cancellationToken);
            if (zone is null) return ZoneMissing(zoneId);
            if (old is null) return RecordMissing(recordId);
            var applied = await ApplyAsync(change, zone, old, null, cancellationToken, around);
            return applied.Failure is { } failure ? failure : new ChangeResult<RecordRow>(old, null);
        }, cancellationToken);

    /// <summary>
    /// Adds a zone file's records to a zone (identical records already there are skipped; an SOA in the file replaces
    /// the zone's). The result must add no zone check error. Publishes the whole zone.
    /// </summary>
    public Task<ChangeResult<(int Parsed, int Added)>> ImportAsync(string zoneId, Func<DnsName, ChangeResult<IReadOnlyList<ResourceRecord>>> parse,
        CancellationToken cancellationToken) =>
        ChangeAsync<(int, int)>(async change =>
        {
            if (await LockZoneAsync(change, zoneId, cancellationToken) is not { } zone) return ZoneMissing(zoneId);
            var parsed = parse(zone.Name);
            if (parsed.Failure is { } invalid) return invalid;
            var incoming = Distinct(parsed.Value!);
            var existing = await ZoneRecordsAsync(change.Connection, change.Transaction, zoneId, cancellationToken);
            var before = existing.Select(r => r.ToRecord()).ToList();
            bool replacesSoa = incoming.Any(r => r.Type == RRType.SOA);
            var kept = existing.Where(r => !(replacesSoa && r.Type == RRType.SOA)).ToList();
            var present = new HashSet<(DnsName, RRType, string)>(kept.Select(k => (k.Name, k.Type, Convert.ToBase64String(k.Rdata))));
            var added = incoming.Where(r => !present.Contains((r.Name, r.Type, Convert.ToBase64String(r.Data.ToWire())))).ToList();
            var after = kept.Select(r => r.ToRecord()).Concat(added).ToList();
            if (TooMany(after.Count) is { } tooMany) return tooMany;
            if (ZoneRules.NewErrors(zone.Name, before, after) is { Count: > 0 } errors) return new ApiFailure(400, errors);
            if (replacesSoa) await change.ExecuteAsync("DELETE FROM dns_records WHERE zone_id = @zone AND type = 'SOA'", cancellationToken, ("zone", zoneId));
            foreach (var record in added) await InsertRecordAsync(change, zoneId, record, cancellationToken);
            await change.ExecuteAsync("UPDATE zones SET modified_ms = @t, records = @n WHERE id = @id", cancellationToken,
                ("t", change.Now), ("n", (long)after.Count), ("id", zoneId));
            await RecordOutboxAsync(change, zone.Name, OutboxKind.ReplaceZone, [], cancellationToken);
            return new((incoming.Count, added.Count), null);
        }, cancellationToken);

    private ApiFailure? TooMany(long records) => records > MaxRecordsPerZone
        ? new ApiFailure(400, ErrorCodes.TooManyRecords, $"a zone holds at most {MaxRecordsPerZone} records (api.max-records-per-zone)")
        : null;

    private static ApiFailure RecordMissing(string id) => new(404, ErrorCodes.RecordNotFound, $"no record with id '{id}' in this zone", "id");

    /// <summary>
    /// Replaces <paramref name="old"/> by <paramref name="record"/> (either may be null: add, delete) after the checks:
    /// no identical record, and no new zone check error among the records around the change. Returns the row as stored
    /// (null for a delete).
    /// </summary>
    private async Task<ChangeResult<RecordRow>> ApplyAsync(Change change, ZoneRow zone, RecordRow? old, ResourceRecord? record, CancellationToken cancellationToken,
        Around? known = null)
    {
        // The zone is locked (LockZoneAsync), so its record count is current.
        if (old is null && TooMany(zone.Records + 1) is { } tooMany) return tooMany;
        var owners = new List<DnsName>();
        if (old is not null) owners.Add(old.Name);
        if (record is not null) owners.Add(record.Name);
        var around = await AroundAsync(change, zone, owners, known, record, cancellationToken);
        if (record is not null)
        {
            var wire = record.Data.ToWire();
            if (around.Any(r => r.Id != old?.Id && r.Name == record.Name && r.Type == record.Type && r.Rdata.AsSpan().SequenceEqual(wire)))
                return new ApiFailure(400, ErrorCodes.DuplicateRecord, $"an identical record already exists: {record.Name} {RRTypeText.ToText(record.Type)} {record.Data}", "content");
        }
        var before = around.Select(r => r.ToRecord()).ToList();
        var after = around.Where(r => r.Id != old?.Id).Select(r => r.ToRecord()).ToList();
        if (record is not null) after.Add(record);
        if (ZoneRules.NewErrors(zone.Name, before, after) is { Count: > 0 } errors) return new ApiFailure(400, errors);

        RecordRow? stored = null;
        if (old is not null && record is not null)
        {
            stored = new RecordRow(old.Id, zone.Id, record.Name.ToLowerCase(), record.Type, record.Ttl, record.Data.ToString(), record.Data.ToWire(), old.CreatedMs, change.Now);
            change.Defer("UPDATE dns_records SET name = @name, type = @type, ttl = @ttl, content = @content, rdata = @rdata, modified_ms = @t WHERE id = @id",
                ("name", record.Name.ToLowerCase().ToString()), ("type", RRTypeText.ToText(record.Type)), ("ttl", (long)record.Ttl),
                ("content", stored.Content), ("rdata", stored.Rdata), ("t", change.Now), ("id", old.Id));
        }
        else if (old is not null) change.Defer("DELETE FROM dns_records WHERE id = @id", ("id", old.Id));
        else
        {
            stored = new RecordRow(NewId(), zone.Id, record!.Name.ToLowerCase(), record.Type, record.Ttl, record.Data.ToString(), record.Data.ToWire(), change.Now, change.Now);
            change.Defer(InsertRecordSql, RecordParameters(zone.Id, record, stored.Id, change.Now, change.Now));
        }
        int delta = old is null ? 1 : record is null ? -1 : 0;
        change.Defer("UPDATE zones SET modified_ms = @t, records = records + @d WHERE id = @id", ("t", change.Now), ("d", (long)delta), ("id", zone.Id));
        await RecordOutboxAsync(change, zone.Name, OutboxKind.SetNodes, owners, cancellationToken);
        return new(stored, null);
    }

    /// <summary>
    /// The records a change at <paramref name="owners"/> can affect under the zone check rules: the apex (SOA, NS),
    /// the owners, the addresses of in-zone name servers named there or by <paramref name="incoming"/> (an NS record
    /// being stored), and the NS records naming an owner.
    /// </summary>
    private static async Task<List<RecordRow>> AroundAsync(Change change, ZoneRow zone, List<DnsName> owners, Around? known, ResourceRecord? incoming,
        CancellationToken cancellationToken)
    {
        var rows = known is null ? [] : new List<RecordRow>(known.Rows);
        var naming = known is null ? [] : new List<RecordRow>(known.Naming);
        var missing = owners.Select(o => o.ToLowerCase()).Distinct().Where(o => known is null || Array.IndexOf(known.Owners, o) < 0).ToList();
        if (missing.Count > 0)
        {
            // The records at the apex and the owners not read yet, and the NS records naming them: one round trip.
            var names = known is null ? missing.Prepend(zone.Name) : missing;
            var (nameIn, nameParameters) = SqlDialect.AnyOf(change.Connection, "name", "name", names.Select(n => n.ToString()).Distinct().ToList());
            var (targetIn, targetParameters) = SqlDialect.AnyOf(change.Connection, "lower(content)", "target", missing.Select(o => o.ToString()).ToList());
            using var command = change.Command($"SELECT {RecordColumns} FROM dns_records WHERE zone_id = @zone AND {nameIn}; " +
                $"SELECT {RecordColumns} FROM dns_records WHERE zone_id = @zone AND type = 'NS' AND {targetIn}", [("zone", zone.Id), .. nameParameters, .. targetParameters]);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken)) rows.Add(ReadRecord(reader));
            if (await reader.NextResultAsync(cancellationToken))
                while (await reader.ReadAsync(cancellationToken)) naming.Add(ReadRecord(reader));
        }
        var named = rows.Where(r => r.Type == RRType.NS).Select(r => ((NameData)r.ToRecord().Data).Target.ToLowerCase());
        if (incoming is { Type: RRType.NS, Data: NameData nsData }) named = named.Append(nsData.Target.ToLowerCase());
        var targets = named
            .Where(t => t.IsSubdomainOf(zone.Name) && !rows.Any(r => r.Name == t)).Distinct().ToList();
        if (targets.Count > 0) rows.AddRange(await RecordsAtAsync(change.Connection, change.Transaction, zone.Id, targets, cancellationToken));
        foreach (var row in naming)
            if (!rows.Any(r => r.Id == row.Id)) rows.Add(row);
        return rows;
    }

    /// <summary>Identical records (owner, type, RDATA) once.</summary>
    private static List<ResourceRecord> Distinct(IReadOnlyList<ResourceRecord> records)
    {
        var seen = new HashSet<(DnsName, RRType, string)>();
        var result = new List<ResourceRecord>(records.Count);
        foreach (var record in records)
            if (seen.Add((record.Name, record.Type, Convert.ToBase64String(record.Data.ToWire())))) result.Add(record);
        return result;
    }
}
