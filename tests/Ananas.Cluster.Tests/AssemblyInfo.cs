// The tests time failover and budgets against real sockets: run them one at a time, so they do not starve each
// other's pings on a loaded machine.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
