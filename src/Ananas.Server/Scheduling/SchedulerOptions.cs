namespace Ananas.Server.Scheduling;

/// <summary>What happens to a query shed under overload.</summary>
public enum ShedAction : byte
{
    /// <summary>No answer: the client retries or gives up.</summary>
    Drop,

    /// <summary>REFUSED.</summary>
    Refuse,

    /// <summary>TC=1 over UDP (the client retries over TCP, which proves its address); REFUSED over streams.</summary>
    Truncate,
}

/// <summary>Bounds of the miss scheduler. Cache hits never reach it.</summary>
public sealed record SchedulerOptions
{
    /// <summary>Recursions running at once, all clients together.</summary>
    public int MaxInFlight { get; init; } = 1024;

    /// <summary>Recursions running at once for one client group.</summary>
    public int MaxInFlightPerGroup { get; init; } = 64;

    /// <summary>Queries waiting, all groups together; beyond it the group with the longest queue is shed first.</summary>
    public int MaxQueued { get; init; } = 8192;

    /// <summary>Queries waiting for one group; beyond it that group's new queries are shed.</summary>
    public int MaxQueuedPerGroup { get; init; } = 512;

    /// <summary>Resolution steps run at once from the client groups' lanes (<see cref="ResolutionLanes"/>); 0: two per processor.</summary>
    public int Runners { get; init; }

    /// <summary>Deficit added to a group on each turn (cost units; one query costs one).</summary>
    public int Quantum { get; init; } = 1;

    /// <summary>Drop by default: an answer (REFUSED, TC) lets a flooder that waits for replies send its next query at once, keeping the receive queue every client shares full.</summary>
    public ShedAction Shed { get; init; } = ShedAction.Drop;
}
