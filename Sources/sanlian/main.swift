import SanlianCLI

// `sanlian`: every human operation on a township (Sources/SanlianCLI).
await Sanlian.runAsProcess()
