import ServiceSupport

// Tasks on Swift's pool: forwarding runs on the event loop without tasks, while the ledger's
// deliveries and subscriptions are tasks that then run on the other core (delivery to a durable
// subscriber measured ~27 k events/s with tasks on the loop, ~47 k on the pool).
// glibc gives every thread that allocates its own malloc arena; with the event loop, the ledger's
// writer and readers that multiplied the broker's peak memory for no speed it could measure.
await DaemonMain.run(SanlianBrokerCommand.self, tasksOn: .pool, mallocArenas: 2)
