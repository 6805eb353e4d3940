import ServiceSupport

// Tasks on Swift's pool: forwarding runs on the event loop without tasks, while the ledger's
// deliveries and subscriptions are tasks that then run on the other core (delivery to a durable
// subscriber measured ~27 k events/s with tasks on the loop, ~47 k on the pool).
// glibc gives every thread that allocates its own malloc arena: the event loop, the ledger's
// writer, its readers and Swift's pool multiplied the broker's peak memory that way, for no speed
// that could be measured.
await DaemonMain.run(SanlianBrokerCommand.self, tasksOn: .pool, mallocArenas: 2)
