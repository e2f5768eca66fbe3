using System.Net;
using System.Text;
using System.Text.Json;

namespace Ananas.Pipeline.Tests;

/// <summary>Every route of the zone API, its envelope, and what it stores.</summary>
public sealed class ApiTests(PostgresCluster postgres) : IClassFixture<PostgresCluster>
{
    private static string SoaText(byte[] rdata)
    {
        var reader = new Ananas.Dns.Wire.WireReader(rdata);
        return Ananas.Dns.Records.RData.Read(Ananas.Dns.RRType.SOA, ref reader, rdata.Length).ToString();
    }

    private static string[] Names(JsonElement result) => [.. result.EnumerateArray().Select(e => $"{e.GetProperty("name").GetString()} {e.GetProperty("type").GetString()} {e.GetProperty("content").GetString()}")];

    [Fact]
    public Task Every_zone_and_record_route_answers_in_the_envelope_and_stores_what_it_says_on_sqlite() => EveryRoute(TestDatabases.Sqlite());

    [FactWhenPostgresInstalled]
    public async Task Every_zone_and_record_route_answers_in_the_envelope_and_stores_what_it_says_on_postgresql() => await EveryRoute(await postgres.NewDatabaseAsync());

    [Fact]
    public Task An_update_is_checked_against_the_records_at_its_old_and_new_owner_on_sqlite() => UpdateChecksBothOwners(TestDatabases.Sqlite());

    [FactWhenPostgresInstalled]
    public async Task An_update_is_checked_against_the_records_at_its_old_and_new_owner_on_postgresql() => await UpdateChecksBothOwners(await postgres.NewDatabaseAsync());

    [Fact]
    public Task Moving_the_address_of_a_name_server_named_in_the_zone_is_refused_and_changing_it_in_place_is_not_on_sqlite() => NamedServerAddress(TestDatabases.Sqlite());

    [FactWhenPostgresInstalled]
    public async Task Moving_the_address_of_a_name_server_named_in_the_zone_is_refused_and_changing_it_in_place_is_not_on_postgresql() => await NamedServerAddress(await postgres.NewDatabaseAsync());

    /// <summary>The NS records naming a changed owner are found by the lowercased target (written here in capitals).</summary>
    private static async Task NamedServerAddress(Ananas.Pipeline.Database.SqlDialect dialect)
    {
        await using var api = await ApiHarness.StartAsync(dialect);
        string zone = await api.CreateZoneAsync("example.com");
        var (status, body) = await api.SendAsync(HttpMethod.Post, $"/zones/{zone}/dns_records/import", content: new StringContent("ns IN A 192.0.2.53\nsub IN NS NS.Example.COM.\n"));
        Assert.Equal(HttpStatusCode.OK, status);
        (status, body) = await api.SendAsync(HttpMethod.Get, $"/zones/{zone}/dns_records?name=ns&type=A");
        string ns = body.GetProperty("result")[0].GetProperty("id").GetString()!;
        string before = await api.StateAsync();

        (status, body) = await api.SendAsync(HttpMethod.Patch, $"/zones/{zone}/dns_records/{ns}", """{"name":"other"}""");
        Assert.Equal((HttpStatusCode.BadRequest, 1004), (status, body.GetProperty("errors")[0].GetProperty("code").GetInt32()));
        (status, body) = await api.SendAsync(HttpMethod.Delete, $"/zones/{zone}/dns_records/{ns}");
        Assert.Equal((HttpStatusCode.BadRequest, 1004), (status, body.GetProperty("errors")[0].GetProperty("code").GetInt32()));
        Assert.Equal(before, await api.StateAsync());
        (status, body) = await api.SendAsync(HttpMethod.Patch, $"/zones/{zone}/dns_records/{ns}", """{"content":"192.0.2.54"}""");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("192.0.2.54", body.GetProperty("result").GetProperty("content").GetString());

        // A new NS record naming an in-zone server: checked against that server's addresses (read for the new record).
        (status, body) = await api.SendAsync(HttpMethod.Post, $"/zones/{zone}/dns_records", """{"name":"sub2","type":"NS","content":"Ns.example.com"}""");
        Assert.Equal(HttpStatusCode.OK, status);
        before = await api.StateAsync();
        (status, body) = await api.SendAsync(HttpMethod.Post, $"/zones/{zone}/dns_records", """{"name":"sub3","type":"NS","content":"nowhere.example.com"}""");
        Assert.Equal((HttpStatusCode.BadRequest, 1004), (status, body.GetProperty("errors")[0].GetProperty("code").GetInt32()));
        Assert.Equal(before, await api.StateAsync());
    }

    [Fact]
    public async Task A_response_carries_its_length_and_is_not_chunked()
    {
        await using var api = await ApiHarness.StartAsync();
        string zone = await api.CreateZoneAsync("example.com");
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/zones/{zone}/dns_records");
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", api.Token);
        using var response = await api.Client.SendAsync(request);
        byte[] body = await response.Content.ReadAsByteArrayAsync();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.NotEqual(true, response.Headers.TransferEncodingChunked);
        Assert.Equal(body.Length, response.Content.Headers.ContentLength);
        Assert.Equal(3, JsonDocument.Parse(body).RootElement.GetProperty("result").GetArrayLength());
    }

    private static async Task UpdateChecksBothOwners(Ananas.Pipeline.Database.SqlDialect dialect)
    {
        await using var api = await ApiHarness.StartAsync(dialect);
        string zone = await api.CreateZoneAsync("example.com");
        string www = await api.AddRecordAsync(zone, "www", "A", "192.0.2.1");
        await api.AddRecordAsync(zone, "alias", "CNAME", "target.example.net");
        string before = await api.StateAsync();

        // Moved to an owner that holds a CNAME (read only once the new owner is known): refused, nothing changed.
        var (status, body) = await api.SendAsync(HttpMethod.Patch, $"/zones/{zone}/dns_records/{www}", """{"name":"alias"}""");
        Assert.Equal((HttpStatusCode.BadRequest, 81053), (status, body.GetProperty("errors")[0].GetProperty("code").GetInt32()));
        // Moved to a new owner: the old one is free for a CNAME; moving the record back onto the CNAME is refused.
        (status, body) = await api.SendAsync(HttpMethod.Patch, $"/zones/{zone}/dns_records/{www}", """{"content":"192.0.2.9","name":"web"}""");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.NotEqual(before, await api.StateAsync());
        (status, _) = await api.SendAsync(HttpMethod.Post, $"/zones/{zone}/dns_records", """{"name":"www","type":"CNAME","content":"web.example.com"}""");
        Assert.Equal(HttpStatusCode.OK, status);
        (status, body) = await api.SendAsync(HttpMethod.Patch, $"/zones/{zone}/dns_records/{www}", """{"name":"www"}""");
        Assert.Equal((HttpStatusCode.BadRequest, 81053), (status, body.GetProperty("errors")[0].GetProperty("code").GetInt32()));
    }

    private static async Task EveryRoute(Ananas.Pipeline.Database.SqlDialect dialect)
    {
        await using var api = await ApiHarness.StartAsync(dialect);
        string zone = await api.CreateZoneAsync("example.com");

        var (status, body) = await api.SendAsync(HttpMethod.Get, "/zones");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.True(body.GetProperty("success").GetBoolean());
        Assert.Empty(body.GetProperty("errors").EnumerateArray());
        Assert.Equal("example.com", body.GetProperty("result")[0].GetProperty("name").GetString());
        Assert.Equal(1, body.GetProperty("result_info").GetProperty("total_count").GetInt32());
        (status, body) = await api.SendAsync(HttpMethod.Get, $"/zones/{zone}");
        Assert.Equal(3, body.GetProperty("result").GetProperty("records").GetInt32()); // SOA + 2 NS

        string www = await api.AddRecordAsync(zone, "www", "A", "192.0.2.1");
        await api.AddRecordAsync(zone, "www", "A", "192.0.2.2");
        await api.AddRecordAsync(zone, "mail.example.com", "MX", "10 mx.example.net");
        await api.AddRecordAsync(zone, "txt", "TXT", "\"hello world\"");

        (status, body) = await api.SendAsync(HttpMethod.Get, $"/zones/{zone}/dns_records?name=www&type=A");
        Assert.Equal(["www.example.com A 192.0.2.1", "www.example.com A 192.0.2.2"], Names(body.GetProperty("result")).Order());
        (status, body) = await api.SendAsync(HttpMethod.Get, $"/zones/{zone}/dns_records?content=10%20mx.example.net.");
        Assert.Equal(["mail.example.com MX 10 mx.example.net."], Names(body.GetProperty("result")));
        (status, body) = await api.SendAsync(HttpMethod.Get, $"/zones/{zone}/dns_records?per_page=2&page=3");
        Assert.Equal(2, body.GetProperty("result").GetArrayLength());
        var info = body.GetProperty("result_info");
        Assert.Equal((3, 2, 7, 4), (info.GetProperty("page").GetInt32(), info.GetProperty("per_page").GetInt32(), info.GetProperty("total_count").GetInt32(), info.GetProperty("total_pages").GetInt32()));

        (status, body) = await api.SendAsync(HttpMethod.Get, $"/zones/{zone}/dns_records/{www}");
        Assert.Equal("192.0.2.1", body.GetProperty("result").GetProperty("content").GetString());
        (status, body) = await api.SendAsync(HttpMethod.Patch, $"/zones/{zone}/dns_records/{www}", """{"content":"192.0.2.9"}""");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(("www.example.com", "192.0.2.9", 300), (body.GetProperty("result").GetProperty("name").GetString(),
            body.GetProperty("result").GetProperty("content").GetString(), body.GetProperty("result").GetProperty("ttl").GetInt32()));
        (status, body) = await api.SendAsync(HttpMethod.Put, $"/zones/{zone}/dns_records/{www}", """{"name":"web","type":"AAAA","content":"2001:db8::1","ttl":60}""");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("web.example.com AAAA 2001:db8::1", Names(JsonDocument.Parse($"[{body.GetProperty("result")}]").RootElement)[0]);
        (status, _) = await api.SendAsync(HttpMethod.Delete, $"/zones/{zone}/dns_records/{www}");
        Assert.Equal(HttpStatusCode.OK, status);
        (status, body) = await api.SendAsync(HttpMethod.Get, $"/zones/{zone}/dns_records/{www}");
        Assert.Equal((HttpStatusCode.NotFound, 81044), (status, body.GetProperty("errors")[0].GetProperty("code").GetInt32()));

        (status, body) = await api.SendAsync(HttpMethod.Post, $"/zones/{zone}/dns_records/import", content: new StringContent(
            "$TTL 600\nimported IN A 192.0.2.50\nimported IN TXT \"x\"\nwww IN A 192.0.2.2\n", Encoding.UTF8, "text/plain"));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal((2, 3), (body.GetProperty("result").GetProperty("recs_added").GetInt32(), body.GetProperty("result").GetProperty("total_records_parsed").GetInt32()));
        var form = new MultipartFormDataContent { { new StringContent("form IN A 192.0.2.51\n"), "file", "db.example" } };
        (status, body) = await api.SendAsync(HttpMethod.Post, $"/zones/{zone}/dns_records/import", content: form);
        Assert.Equal(1, body.GetProperty("result").GetProperty("recs_added").GetInt32());

        // 3 apex + www .2 + MX + TXT + 2 imported + form = 9, and one outbox entry per change.
        Assert.Equal((1, 9, 10), await api.Database.CountAsync(CancellationToken.None));
        (status, _) = await api.SendAsync(HttpMethod.Delete, $"/zones/{zone}");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal((0, 0, 11), await api.Database.CountAsync(CancellationToken.None));
    }

    public static TheoryData<string, string, string, int, int> BadRecordChanges() => new()
    {
        // method, path (ZONE, RECORD replaced), body, status, error code
        { "POST", "/zones/ZONE/dns_records", """{"name":"x","type":"A","content":"192.0.2.300"}""", 400, 9005 },
        { "POST", "/zones/ZONE/dns_records", """{"name":"x","type":"MX","content":"not-a-number mx.example.net"}""", 400, 9005 },
        { "POST", "/zones/ZONE/dns_records", """{"name":"x","type":"BOGUS","content":"1"}""", 400, 1007 },
        { "POST", "/zones/ZONE/dns_records", """{"name":"x","type":"RRSIG","content":"A 8 2 300 20300101000000 20200101000000 1 example.com. AAAA"}""", 400, 1007 },
        { "POST", "/zones/ZONE/dns_records", """{"name":"x","type":"A","content":"192.0.2.1","ttl":-5}""", 400, 1008 },
        { "POST", "/zones/ZONE/dns_records", """{"name":"www","type":"CNAME","content":"elsewhere.example.net"}""", 400, 81053 },
        { "POST", "/zones/ZONE/dns_records", """{"name":"www","type":"A","content":"192.0.2.1"}""", 400, 81058 },
        { "POST", "/zones/ZONE/dns_records", """{"name":"host.example.org.","type":"A","content":"192.0.2.1"}""", 400, 1005 },
        { "POST", "/zones/ZONE/dns_records", """{"name":"x","type":"SOA","content":"ns h 1 2 3 4 5"}""", 400, 1004 },
        { "POST", "/zones/ZONE/dns_records", """{"name":"@","type":"SOA","content":"ns.example.net. h.example.com. 2 2 3 4 5"}""", 400, 1004 },
        { "POST", "/zones/ZONE/dns_records", """{"name":"x","type":"A","content":"192.0.2.1\nx A 192.0.2.2"}""", 400, 9005 },
        { "POST", "/zones/ZONE/dns_records", """{"name":"x","type":"A",""", 400, 1001 },
        { "POST", "/zones/ZONE/dns_records", """{"name":"x","type":"A","content":"192.0.2.1","ttl":"300"}""", 400, 1001 },
        { "POST", "/zones/0000/dns_records", """{"name":"x","type":"A","content":"192.0.2.1"}""", 404, 7003 },
        { "PATCH", "/zones/ZONE/dns_records/RECORD", """{"name":"@","type":"CNAME","content":"x.example.net"}""", 400, 81053 },
        { "PATCH", "/zones/ZONE/dns_records/0000", """{"content":"192.0.2.7"}""", 404, 81044 },
        { "DELETE", "/zones/ZONE/dns_records/SOA", "", 400, 1004 },
        { "DELETE", "/zones/0000", "", 404, 7003 },
        { "GET", "/zones/ZONE/dns_records?per_page=100000", "", 400, 1001 },
        { "GET", "/zones/ZONE/dns_records?page=0", "", 400, 1001 },
        { "POST", "/zones", """{"name":"example.com","name_servers":["ns1.example.net"]}""", 409, 1061 },
        { "POST", "/zones", """{"name":"bad..name"}""", 400, 1049 },
        { "POST", "/zones", """{"name":"in-zone-ns.test","name_servers":["ns1.in-zone-ns.test"]}""", 400, 1004 },
        { "POST", "/zones/ZONE/dns_records/import", "x IN A 192.0.2.1\n$INCLUDE /etc/passwd\n", 400, 81059 },
        { "POST", "/zones/ZONE/dns_records/import", "x IN A 192.0.2.1\ny IN AAAA nonsense\n", 400, 81059 },
        { "POST", "/zones/ZONE/dns_records/import", "www IN CNAME x.example.net.\n", 400, 81053 },
        { "POST", "/zones/ZONE/dns_records/import", "other.example.org. IN A 192.0.2.1\n", 400, 1005 },
        { "POST", "/zones/ZONE/dns_records/import", $"big IN TXT \"{new string('a', 200)}\"\n".PadRight(70_000, ';'), 413, 1002 },
        { "GET", "/no/such/route", "", 404, 7000 },
        { "PUT", "/zones", "{}", 404, 7000 },
    };

    [Theory]
    [MemberData(nameof(BadRecordChanges))]
    public async Task Bad_input_gets_a_json_error_with_its_code_and_changes_nothing(string method, string path, string body, int status, int code)
    {
        await using var api = await ApiHarness.StartAsync();
        string zone = await api.CreateZoneAsync("example.com");
        string www = await api.AddRecordAsync(zone, "www", "A", "192.0.2.1");
        var (_, soa) = await api.SendAsync(HttpMethod.Get, $"/zones/{zone}/dns_records?type=SOA");
        path = path.Replace("ZONE", zone).Replace("RECORD", www).Replace("SOA", soa.GetProperty("result")[0].GetProperty("id").GetString());
        string before = await api.StateAsync();

        var content = path.EndsWith("/import") ? new StringContent(body, Encoding.UTF8, "text/plain") : body.Length > 0 ? new StringContent(body, Encoding.UTF8, "application/json") : null;
        var (actual, json) = await api.SendAsync(new HttpMethod(method), path, content: content);

        Assert.True((int)actual == status, json.ToString());
        Assert.False(json.GetProperty("success").GetBoolean());
        var error = json.GetProperty("errors")[0];
        Assert.Equal(code, error.GetProperty("code").GetInt32());
        Assert.False(string.IsNullOrEmpty(error.GetProperty("message").GetString()));
        Assert.Equal(before, await api.StateAsync());
    }

    [Fact]
    public async Task A_missing_or_wrong_token_is_401_and_a_token_for_another_zone_is_403_and_nothing_changes()
    {
        await using var api = await ApiHarness.StartAsync();
        string zone = await api.CreateZoneAsync("example.com");
        string other = await api.CreateZoneAsync("example.org");
        var (_, scoped) = await api.Database.CreateTokenAsync(Dns.DnsName.Parse("example.org."), CancellationToken.None);
        string before = await api.StateAsync();
        string record = """{"name":"x","type":"A","content":"192.0.2.1"}""";

        var (status, body) = await api.SendAsync(HttpMethod.Post, $"/zones/{zone}/dns_records", record, token: "");
        Assert.Equal((HttpStatusCode.Unauthorized, 10000), (status, body.GetProperty("errors")[0].GetProperty("code").GetInt32()));
        (status, body) = await api.SendAsync(HttpMethod.Post, $"/zones/{zone}/dns_records", record, token: api.Token + "x");
        Assert.Equal((HttpStatusCode.Unauthorized, 10000), (status, body.GetProperty("errors")[0].GetProperty("code").GetInt32()));
        (status, body) = await api.SendAsync(HttpMethod.Post, $"/zones/{zone}/dns_records", record, token: scoped);
        Assert.Equal((HttpStatusCode.Forbidden, 10001), (status, body.GetProperty("errors")[0].GetProperty("code").GetInt32()));
        (status, _) = await api.SendAsync(HttpMethod.Delete, $"/zones/{zone}", token: scoped);
        Assert.Equal(HttpStatusCode.Forbidden, status);
        (status, _) = await api.SendAsync(HttpMethod.Post, "/zones", """{"name":"example.net","name_servers":["ns.example.org"]}""", token: scoped);
        Assert.Equal(HttpStatusCode.Forbidden, status);
        (status, _) = await api.SendAsync(HttpMethod.Get, "/edge/snapshot", token: scoped);
        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Equal(before, await api.StateAsync());

        // In its own zone the scoped token works, and it sees only that zone.
        (status, _) = await api.SendAsync(HttpMethod.Post, $"/zones/{other}/dns_records", record, token: scoped);
        Assert.Equal(HttpStatusCode.OK, status);
        (_, body) = await api.SendAsync(HttpMethod.Get, "/zones", token: scoped);
        Assert.Equal(["example.org"], body.GetProperty("result").EnumerateArray().Select(z => z.GetProperty("name").GetString()));
    }

    [Fact]
    public async Task The_edge_routes_give_the_snapshot_and_the_outbox_state_and_metrics_need_no_token()
    {
        await using var api = await ApiHarness.StartAsync();
        string zone = await api.CreateZoneAsync("example.com");
        var (_, soa) = await api.SendAsync(HttpMethod.Get, $"/zones/{zone}/dns_records?type=SOA");
        string soaId = soa.GetProperty("result")[0].GetProperty("id").GetString()!;
        // The SOA may be changed in place (not added twice, not removed).
        var (status, body) = await api.SendAsync(HttpMethod.Patch, $"/zones/{zone}/dns_records/{soaId}", """{"content":"ns1.example.net. hostmaster.example.com. 7 7200 3600 1209600 300"}""");
        Assert.True(status == HttpStatusCode.OK, body.ToString());

        using var request = new HttpRequestMessage(HttpMethod.Get, "/edge/snapshot");
        request.Headers.Authorization = new("Bearer", api.Token);
        using var response = await api.Client.SendAsync(request);
        Assert.Equal(Ananas.Authoritative.Changes.EdgeSnapshot.MediaType, response.Content.Headers.ContentType?.MediaType);
        var snapshot = Ananas.Authoritative.Changes.EdgeSnapshot.Decode(await response.Content.ReadAsByteArrayAsync());
        Assert.Equal(2, snapshot.Sequence);
        var apex = Assert.Single(Assert.Single(snapshot.Zones).Nodes);
        var soaSet = Assert.Single(apex.RRsets, s => s.Type == Ananas.Dns.RRType.SOA);
        Assert.Equal("ns1.example.net. hostmaster.example.com. 7 7200 3600 1209600 300", SoaText(soaSet.Records[0]));

        (_, body) = await api.SendAsync(HttpMethod.Get, "/edge/status");
        // Nothing publishes in this harness: both changes wait.
        Assert.Equal((2, 0, 2), (body.GetProperty("result").GetProperty("committed_sequence").GetInt32(),
            body.GetProperty("result").GetProperty("published_sequence").GetInt32(), body.GetProperty("result").GetProperty("waiting").GetInt32()));
        string metrics = await api.Client.GetStringAsync("/metrics");
        Assert.Contains("ananas_pipeline_outbox_waiting 2", metrics);
        Assert.Contains("ananas_pipeline_committed_sequence 2", metrics);
    }

    [Fact]
    public async Task The_database_holds_only_the_hash_of_a_token()
    {
        await using var api = await ApiHarness.StartAsync();
        await using var connection = await api.Database.Dialect.OpenAsync(CancellationToken.None);
        using var command = Ananas.Pipeline.Database.CentralDatabase.Command(connection, null, "SELECT sha256 FROM api_tokens");
        var stored = (byte[])(await command.ExecuteScalarAsync())!;
        Assert.Equal(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(api.Token)), stored);
        var file = await File.ReadAllBytesAsync(((Ananas.Pipeline.Database.SqliteDialect)api.Database.Dialect).Path);
        Assert.DoesNotContain(api.Token, Encoding.Latin1.GetString(file));
    }

    [Fact]
    public async Task A_failing_database_is_a_503_in_the_envelope()
    {
        await using var api = await ApiHarness.StartAsync();
        string path = ((Ananas.Pipeline.Database.SqliteDialect)api.Database.Dialect).Path;
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        // Overwrite the file's header: every statement now fails with "file is not a database".
        await using (var file = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite))
            await file.WriteAsync(new byte[100].Select(_ => (byte)0x5A).ToArray());
        var (status, body) = await api.SendAsync(HttpMethod.Post, "/zones", """{"name":"example.com","name_servers":["ns.example.net"]}""");
        Assert.Equal((HttpStatusCode.ServiceUnavailable, 1100), (status, body.GetProperty("errors")[0].GetProperty("code").GetInt32()));
        Assert.False(body.GetProperty("success").GetBoolean());
    }

    [Fact]
    public async Task A_zone_past_its_record_bound_refuses_more_records()
    {
        await using var api = await ApiHarness.StartAsync(maxRecordsPerZone: 4);
        string zone = await api.CreateZoneAsync("example.com");
        await api.AddRecordAsync(zone, "a", "A", "192.0.2.1");
        string before = await api.StateAsync();
        var (status, body) = await api.SendAsync(HttpMethod.Post, $"/zones/{zone}/dns_records", """{"name":"b","type":"A","content":"192.0.2.2"}""");
        Assert.Equal((HttpStatusCode.BadRequest, 1010), (status, body.GetProperty("errors")[0].GetProperty("code").GetInt32()));
        Assert.Equal(before, await api.StateAsync());
    }
}
