import ArgumentParser

/// sanlian: the command-line tool for every human operation on a township.
@main
struct Sanlian: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sanlian",
        abstract: "Operate a Sanlian township: health, services, alerts and the command room's live feed.",
        discussion: """
            Every command connects to the broker as a department, with that department's credential \
            file (by default the one the compose file names, under --state-dir). Examples:

              sanlian health
              sanlian services
              sanlian alert publish --department traffic --id t-1 --subject alert.hazards.traffic \\
                  --headline "G318 道路塌方" --severity severe --village 511681104201
              sanlian alert list
              sanlian alert ack traffic:t-1
              sanlian watch --name command-room
            """,
        subcommands: [Health.self, Services.self, AlertCommand.self, Watch.self, LedgerCommand.self, DeadLetters.self]
    )
}
