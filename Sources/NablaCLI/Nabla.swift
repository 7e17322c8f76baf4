import ArgumentParser

/// The `nabla` command line.
@main
struct Nabla: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nabla",
        abstract: "Train, evaluate and benchmark deep-learning models.",
        subcommands: [
            TrainCommand.self, EvaluateCommand.self, PredictCommand.self, SummaryCommand.self, ExportCommand.self,
            ImportCommand.self, DataCommand.self, ServeCommand.self, LRFindCommand.self, ReportCommand.self,
        ],
        defaultSubcommand: TrainCommand.self)
}
