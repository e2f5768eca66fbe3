using System.Runtime.CompilerServices;

namespace Ananas.Resolver;

/// <summary>
/// Where a resolution's work resumes after it waited (an upstream answer, a yield). A server sets the lane of the
/// client group a resolution serves (<see cref="Current"/>, which flows with the resolution's async calls), so that
/// its CPU is shared between groups by a fair queue instead of the thread pool's first-come-first-served queue, in
/// which one group's backlog of resumed work would delay every other group's. Without a lane, work resumes on the
/// thread pool as before.
/// </summary>
public abstract class ResolutionLane
{
    private static readonly AsyncLocal<ResolutionLane?> s_current = new();

    /// <summary>The lane of the resolution running on this thread; null: none (the thread pool).</summary>
    public static ResolutionLane? Current
    {
        get => s_current.Value;
        set => s_current.Value = value;
    }

    /// <summary>Runs <paramref name="continuation"/> later, in this lane's turn. Never inline.</summary>
    public abstract void Post(Action continuation);

    /// <summary>Always resumes later: in the current lane, or on the thread pool when there is none (like <see cref="Task.Yield"/>).</summary>
    public static Resumption Yield() => new(always: true);

    /// <summary>
    /// Resumes in the current lane's turn, after work that completed on a thread-pool callback (a socket's answer):
    /// the rest of the resolution then waits its group's turn. Without a lane it continues at once.
    /// </summary>
    public static Resumption Reenter() => new(always: false);

    /// <summary>The awaitable of <see cref="Yield"/> and <see cref="Reenter"/>; allocates nothing beyond the lane's queue slot.</summary>
    public readonly struct Resumption(bool always) : ICriticalNotifyCompletion
    {
        public Resumption GetAwaiter() => this;

        public bool IsCompleted => !always && s_current.Value is null;

        public void GetResult()
        {
        }

        public void OnCompleted(Action continuation)
        {
            var context = ExecutionContext.Capture();
            UnsafeOnCompleted(context is null ? continuation : () => ExecutionContext.Run(context, static c => ((Action)c!)(), continuation));
        }

        public void UnsafeOnCompleted(Action continuation)
        {
            if (s_current.Value is { } lane) lane.Post(continuation);
            else ThreadPool.UnsafeQueueUserWorkItem(static c => c(), continuation, preferLocal: false);
        }
    }
}
