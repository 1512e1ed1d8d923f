// netlink-bench: the Netlink library's batch path against `ip -batch` (routes and veth pairs),
// in namespaces it creates and removes. Needs root. Usage:
//   netlink-bench [--routes N] [--veths N]
#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import NetlinkBenchmark

func printError(_ text: String) {
    let bytes = Array(text.utf8)
    _ = write(2, bytes, bytes.count)
}

struct Options: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "netlink-bench")

    @Option(help: "Routes to install.") var routes = 100_000
    @Option(help: "Veth pairs to create.") var veths = 1_000

    func validate() throws {
        guard routes >= 1, veths >= 1 else { throw ValidationError("--routes and --veths must be at least 1") }
    }
}

let options = Options.parseOrExit()
let routes = options.routes
let veths = options.veths
do {
    for measurement in try NetlinkBenchmark.run(routes: routes, veths: veths) {
        print(measurement)
    }
} catch {
    printError("netlink-bench: \(error)\n")
    exit(1)
}
