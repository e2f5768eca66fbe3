using Ananas.Dns;
using Ananas.Resolver;
using Ananas.Resolver.Infrastructure;
using Ananas.Resolver.Iteration;
using Ananas.Resolver.Cache;
using Ananas.Server.Configuration;
using Ananas.Server.Frames;
using Ananas.Server.Listeners;
using Ananas.Server.Pipeline;
using Ananas.Server.Scheduling;
using Ananas.Server.Tls;
using Microsoft.Extensions.Logging;

namespace Ananas.Server.Hosting;

/// <summary>
/// The running server, composed from a <see cref="ServerConfig"/>: the resolver stack and answer cache
/// (<see cref="ResolverStackBuilder"/>), the upstream (<see cref="Upstream"/>: the configured conductor, or an
/// injected exchanger in tests), the pipeline and its protections, and one listener per listen address. A
/// configuration reload (<see cref="ReloadAsync"/>) diffs the new configuration against the running one and
/// applies what can change live through the same builder, without dropping a query.
/// </summary>
public sealed class ResolverHost : IAsyncDisposable
{
    private readonly ILogger _logger;
    private readonly ServerConfig _startConfig;
    private readonly Upstream _upstream;
    private readonly bool _ownsUpstream;
    private ResolverStack _stack;
    private readonly LogLevelSwitch? _logLevel;
    private readonly SemaphoreSlim _reloading = new(1, 1);
    /// <summary>The DNS listeners by address (reloads add and remove them); metrics and control are apart.</summary>
    private readonly List<(ListenAddress Address, IListener Listener)> _dns = [];
    private readonly List<IListener> _service = [];
    private readonly Help.HelpPage _helpPage;
    private readonly ListenerFactory _listenerFactory;

    private static readonly string Version = typeof(ResolverHost).Assembly
        .GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false).OfType<System.Reflection.AssemblyInformationalVersionAttribute>()
        .FirstOrDefault()?.InformationalVersion ?? "unknown";
    private readonly Timer? _cookieRotation;

    /// <summary>
    /// The production server for <paramref name="config"/>: its upstream is the conductor the configuration
    /// describes (owned by the host, closed with it). Throws <see cref="ConfigException"/> for a file it names that
    /// cannot be used.
    /// </summary>
    /// <param name="logLevel">Changed when a reload sets another <c>log.level</c>; null leaves logging alone.</param>
    public static ResolverHost Create(ServerConfig config, ILoggerFactory loggerFactory, LogLevelSwitch? logLevel = null)
    {
        var upstream = Upstream.FromConfig(config);
        try
        {
            return new ResolverHost(config, upstream, loggerFactory, SystemClock.Instance, logLevel, ownsUpstream: true);
        }
        catch
        {
            upstream.Dispose();
            throw;
        }
    }

    /// <summary>A server whose resolver asks <paramref name="exchanger"/> (tests, the authoritative role); servers are ordered by <paramref name="selector"/> or at random.</summary>
    public ResolverHost(ServerConfig config, IExchanger exchanger, ILoggerFactory loggerFactory, IClock? clock = null, IServerSelector? selector = null,
        LogLevelSwitch? logLevel = null)
        : this(config, Upstream.Of(exchanger, selector), loggerFactory, clock ?? SystemClock.Instance, logLevel, ownsUpstream: false)
    {
    }

    private ResolverHost(ServerConfig config, Upstream upstream, ILoggerFactory loggerFactory, IClock clock, LogLevelSwitch? logLevel, bool ownsUpstream)
    {
        Config = _startConfig = config;
        _logger = loggerFactory.CreateLogger("Ananas.Server");
        _logLevel = logLevel;
        _upstream = upstream;
        _ownsUpstream = ownsUpstream;
        _stack = ResolverStackBuilder.Build(config, clock, upstream);
        Answers = ResolverStackBuilder.Answers(config, clock);
        Pipeline = new QueryPipeline(ResolverStackBuilder.PipelineOptions(config), Answers, _stack.Recursor, upstream.Exchanger, clock,
            logger: loggerFactory.CreateLogger("Ananas.Server.Pipeline"));

        _cookieRotation = ListenerFactory.AddProtections(Pipeline, config);
        Pipeline.Help = new Help.HelpProbes();
        _helpPage = new Help.HelpPage(Pipeline.Help, () => new Help.HelpFacts(Config.DnssecValidation,
            Config.NodeId.Length > 0 ? Config.NodeId : Environment.MachineName, Config.ClusterId, Version));
        _listenerFactory = new ListenerFactory(Pipeline, _logger, _helpPage);
        if (config.ShadowReference.Length > 0)
        {
            Pipeline.Shadow = new Shadow.ShadowMirror(ConfigLoader.ParseEndPoint(config.ShadowReference, 53), config.ShadowSample, config.ShadowTimeout, () => Pipeline.QueryLog);
            Pipeline.AddTap(Pipeline.Shadow.Tap);
        }
        if (config.ControlListen.Length > 0)
        {
            TopTalkers = new WebConsole.TopTalkers(config.ConsoleTopSample, config.ConsoleTopClients);
            Pipeline.AddTap(TopTalkers.Tap);
        }
        foreach (var address in config.Listen) _dns.Add((address, CreateListener(address, config)));
        if (config.MetricsListen.Length > 0)
        {
            Metrics = new MetricsListener(MetricsListener.ParseAddress(config.MetricsListen), Pipeline, () => Plugins, upstream.Metrics);
            _service.Add(Metrics);
        }
        if (config.ControlListen.Length > 0)
        {
            var console = new WebConsole.ConsoleEndpoints(() => MetricsListener.Render(Pipeline, Plugins, upstream.Metrics), TopTalkers, upstream.Metrics);
            ControlTokenPath = ControlToken.PathFor(config.ControlTokenFile);
            _service.Add(new ControlListener(MetricsListener.ParseAddress(config.ControlListen), ControlToken.LoadOrCreate(ControlTokenPath), Pipeline, _stack.Records,
                () => Listeners.Select(l => l.Address), () => ReloadAsync("control API"), () => Plugins, _logger, console));
        }
    }

    /// <summary>The file holding the control API's token (null when <c>control.listen</c> is empty).</summary>
    public string? ControlTokenPath { get; }

    /// <summary>The configuration in effect (after a reload: the new one, except keys that need a restart).</summary>
    public ServerConfig Config { get; private set; }

    /// <summary>
    /// Where <see cref="ReloadAsync"/> reads the configuration again (the file and the command-line flags); throws
    /// <see cref="ConfigException"/> for a bad one. Null: a reload re-applies <see cref="Config"/>.
    /// </summary>
    public Func<ServerConfig>? ConfigSource { get; set; }

    /// <summary>
    /// The plugin runtime (set by the composition root once the configured plugins loaded; null without). A
    /// configuration reload calls <see cref="IPluginControl.ReloadAsync(IReadOnlyList{PluginConfig}, CancellationToken)"/>.
    /// </summary>
    public IPluginControl? Plugins { get; set; }

    /// <summary>The console's top names (null when the control listener is off).</summary>
    public WebConsole.TopTalkers? TopTalkers { get; }

    /// <summary>The Prometheus endpoint (null when <c>metrics.listen</c> is empty).</summary>
    public MetricsListener? Metrics { get; }

    /// <summary>The DoT/DoH certificate (configured or self-signed); null until a tls:// or https:// listener needs it.</summary>
    public System.Security.Cryptography.X509Certificates.X509Certificate2? Certificate => _listenerFactory.Certificate;

    public QueryPipeline Pipeline { get; }

    public AnswerCache Answers { get; }

    /// <summary>Every listener: DNS ones first, then metrics and control.</summary>
    public IReadOnlyList<IListener> Listeners
    {
        get
        {
            lock (_dns) return [.. _dns.Select(d => d.Listener), .. _service];
        }
    }

    /// <summary>Called before each start-up warm-up pass with its number (tests make the warm-up fail through it).</summary>
    internal Action<int>? WarmUpPassStarting { get; set; }

    /// <summary>
    /// The start-up warm-up (<c>resolver.warm-up</c>, <see cref="WarmUp.StartupWarmUp"/>), to run before
    /// <see cref="StartAsync"/>: logs what it did and keeps the report for /metrics. A failure is logged and the
    /// server starts all the same. Null when the key is <c>0s</c>.
    /// </summary>
    public async Task<WarmUp.WarmUpReport?> WarmUpAsync(CancellationToken cancellationToken = default)
    {
        if (Config.WarmUpBudget <= TimeSpan.Zero) return null;
        // On the thread pool, and waited for at most its budget: its key making and signing run before its first await.
        var run = Task.Run(() => WarmUp.StartupWarmUp.RunAsync(Config, Config.WarmUpBudget, cancellationToken, WarmUpPassStarting), CancellationToken.None);
        WarmUp.WarmUpReport report;
        try
        {
            report = await run.WaitAsync(Config.WarmUpBudget + WarmUp.StartupWarmUp.Grace, CancellationToken.None).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            _logger.LogWarning(ServerEvents.WarmUp, "start-up warm-up still busy after its {Budget} s budget (a slow or busy machine); starting without waiting for it",
                Config.WarmUpBudget.TotalSeconds);
            return null;
        }
        Pipeline.WarmUp = report;
        if (report.Failure is not null)
            _logger.LogWarning(ServerEvents.WarmUp, "start-up warm-up failed after {Passes} passes and {Elapsed:F0} ms, starting without it: {Error}",
                report.Passes, report.Elapsed.TotalMilliseconds, report.Failure);
        else
            _logger.LogInformation(ServerEvents.WarmUp,
                "start-up warm-up: {Passes} passes, {Queries} queries ({Failed} not answered, {Secure} of {Signed} with DO validated), {Methods} methods compiled in {Jit:F0} ms of JIT, {Elapsed:F0} ms in all (stopped: {Stopped})",
                report.Passes, report.Queries, report.Failed, report.Secure, report.Signed, report.MethodsCompiled, report.JitTime.TotalMilliseconds, report.Elapsed.TotalMilliseconds, report.Stopped);
        return report;
    }

    /// <summary>Binds every listener (all or none: on a failure the bound ones are closed) and starts serving.</summary>
    public Task StartAsync() => ListenerFactory.StartAllAsync(Listeners, _logger);

    /// <summary>
    /// Reads the configuration again from <see cref="ConfigSource"/> and applies it (<see cref="ApplyAsync"/>). A
    /// bad configuration is logged (its file, line and key) and rejected: the running one stays. Reloads run one
    /// at a time.
    /// </summary>
    public async Task<ReloadResult> ReloadAsync(string reason)
    {
        await _reloading.WaitAsync().ConfigureAwait(false);
        try
        {
            ServerConfig next;
            try
            {
                next = ConfigSource?.Invoke() ?? Config;
            }
            catch (ConfigException e)
            {
                _logger.LogError(ServerEvents.ConfigRejected, "configuration reload ({Reason}) rejected, the running configuration stays: {Error}", reason, e.Message);
                return ReloadResult.Rejected(e.Message);
            }
            return await ApplyCoreAsync(next, reason).ConfigureAwait(false);
        }
        finally
        {
            _reloading.Release();
        }
    }

    /// <summary>
    /// Applies <paramref name="next"/> live: the ACL, query timeout, scheduler groups and bounds, resolver and
    /// DNSSEC options (a new recursor over the same caches), root hints, the log level, and listen addresses
    /// (new ones bound, removed ones stopped after answering what they hold). Queries in flight are not dropped.
    /// Keys that cannot change live are logged as needing a restart and keep their running values.
    /// </summary>
    public async Task<ReloadResult> ApplyAsync(ServerConfig next, string reason = "applied")
    {
        await _reloading.WaitAsync().ConfigureAwait(false);
        try
        {
            return await ApplyCoreAsync(next, reason).ConfigureAwait(false);
        }
        finally
        {
            _reloading.Release();
        }
    }

    private async Task<ReloadResult> ApplyCoreAsync(ServerConfig next, string reason)
    {
        var (live, _) = ConfigChanges.Compare(Config, next);
        var (_, restartNeeded) = ConfigChanges.Compare(_startConfig, next);
        var effective = ConfigChanges.Effective(_startConfig, next);

        Recursor? recursor = null;
        if (ConfigChanges.AffectsRecursor(live))
        {
            try
            {
                _stack = _stack.Reconfigure(ResolverStackBuilder.RecursorOptions(effective), Answers);
                recursor = _stack.Recursor;
            }
            catch (ConfigException e)
            {
                _logger.LogError(ServerEvents.ConfigRejected, "configuration reload ({Reason}) rejected, the running configuration stays: {Error}", reason, e.Message);
                return ReloadResult.Rejected(e.Message);
            }
        }
        Pipeline.Reconfigure(ResolverStackBuilder.PipelineOptions(effective), recursor);
        Answers.EndBeforePrefetch = effective.Prefetch;
        if (_logLevel is not null) _logLevel.Level = effective.LogLevel;

        var added = new List<string>();
        var removed = new List<string>();
        var errors = new List<string>();
        if (live.Contains("listen")) await ReconcileListenersAsync(effective, added, removed, errors).ConfigureAwait(false);
        // Plugins are hot-swapped on every reload (their module files may have changed even when the config did
        // not); one that fails to load keeps its old version and is reported.
        if (Plugins is not null)
        {
            try
            {
                await Plugins.ReloadAsync(effective.Plugins).ConfigureAwait(false);
            }
            catch (InvalidOperationException e)
            {
                errors.Add(e.Message);
                _logger.LogError(ServerEvents.ConfigRejected, "configuration reload ({Reason}): plugins: {Error}", reason, e.Message);
            }
        }
        // What is served is what actually got bound.
        lock (_dns) effective.Listen = [.. _dns.Select(d => d.Address)];
        Config = effective;

        _logger.LogInformation(ServerEvents.ConfigReloaded, "configuration reloaded ({Reason}): {Applied}", reason,
            live.Count == 0 ? "no live setting changed" : "applied " + string.Join(", ", live));
        if (restartNeeded.Count > 0)
            _logger.LogWarning(ServerEvents.RestartNeeded, "configuration keys changed that take effect only after a restart (still running with the old values): {Keys}",
                string.Join(", ", restartNeeded));
        return new ReloadResult(null, live, restartNeeded, added, removed, errors);
    }

    /// <summary>Binds the new listen addresses, then stops the removed ones (each answers what it already took).</summary>
    private async Task ReconcileListenersAsync(ServerConfig next, List<string> added, List<string> removed, List<string> errors)
    {
        List<(ListenAddress Address, IListener Listener)> current;
        lock (_dns) current = [.. _dns];
        foreach (var address in next.Listen.Distinct())
        {
            if (current.Exists(d => d.Address == address)) continue;
            IListener listener;
            try
            {
                listener = CreateListener(address, next);
                listener.Start();
            }
            catch (Exception e) when (e is ListenerBindException or ConfigException)
            {
                _logger.LogError(ServerEvents.ConfigRejected, "reload: {Error}; the other listeners keep serving", e.Message);
                errors.Add(e.Message);
                continue;
            }
            lock (_dns) _dns.Add((address, listener));
            added.Add(listener.Address);
            _logger.LogInformation(ServerEvents.Listening, "listening on {Address}", listener.Address);
        }
        foreach (var (address, listener) in current)
        {
            if (next.Listen.Contains(address)) continue;
            lock (_dns) _dns.RemoveAll(d => d.Listener == listener);
            try
            {
                await listener.StopAsync().ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
            }
            await listener.DisposeAsync().ConfigureAwait(false);
            removed.Add(listener.Address);
            _logger.LogInformation(ServerEvents.Stopped, "stopped listening on {Address}", listener.Address);
        }
    }

    /// <summary>Stops taking queries, answers those in flight (waiting at most <paramref name="drain"/>), closes.</summary>
    public async Task StopAsync(TimeSpan drain)
    {
        _logger.LogInformation(ServerEvents.Stopping, "stopping: answering {InFlight} queries in flight (at most {Drain} s)", Pipeline.InFlight, drain.TotalSeconds);
        var listeners = Listeners;
        var stopListeners = Task.WhenAll(listeners.Select(l => l.StopAsync()));
        await Pipeline.DrainAsync(drain).ConfigureAwait(false);
        try
        {
            await stopListeners.WaitAsync(drain).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
        }
        foreach (var listener in listeners) await listener.DisposeAsync().ConfigureAwait(false);
        if (_cookieRotation is not null) await _cookieRotation.DisposeAsync().ConfigureAwait(false);
        await DisposeSamplersAsync().ConfigureAwait(false);
        if (Pipeline.QueryLog is { } queryLog) await queryLog.DisposeAsync().ConfigureAwait(false);
        if (_ownsUpstream) _upstream.Dispose();
        _logger.LogInformation(ServerEvents.Stopped, "stopped");
    }

    public async ValueTask DisposeAsync()
    {
        if (_cookieRotation is not null) await _cookieRotation.DisposeAsync().ConfigureAwait(false);
        foreach (var listener in Listeners) await listener.DisposeAsync().ConfigureAwait(false);
        await DisposeSamplersAsync().ConfigureAwait(false);
        if (Pipeline.QueryLog is { } queryLog) await queryLog.DisposeAsync().ConfigureAwait(false);
        if (_ownsUpstream) _upstream.Dispose();
    }

    /// <summary>The shadow mirror writes to the query log: it stops first.</summary>
    private async Task DisposeSamplersAsync()
    {
        if (Pipeline.Shadow is { } shadow) await shadow.DisposeAsync().ConfigureAwait(false);
        if (TopTalkers is { } top) await top.DisposeAsync().ConfigureAwait(false);
    }

    private IListener CreateListener(ListenAddress address, ServerConfig config) => _listenerFactory.Create(address, config);
}
