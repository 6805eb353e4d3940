import ServiceSupport

// Tasks on the event loop: a handler's task then answers without a hand-off between threads.
await DaemonMain.run(SanlianEchoCommand.self, tasksOn: .eventLoop)
