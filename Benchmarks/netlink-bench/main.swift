// netlink-bench: the Netlink library's batch path against `ip -batch` (routes and veth pairs),
// in namespaces it creates and removes. Needs root. Usage:
//   netlink-bench [--routes N] [--veths N]
#if canImport(Glibc)
import Glibc
#endif
import NetlinkBenchmark

func printError(_ text: String) {
    let bytes = Array(text.utf8)
    _ = write(2, bytes, bytes.count)
}

var routes = 100_000
var veths = 1_000
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    switch argument {
    case "--routes": routes = arguments.popFirst().flatMap { Int($0) } ?? routes
    case "--veths": veths = arguments.popFirst().flatMap { Int($0) } ?? veths
    default:
        printError("usage: netlink-bench [--routes N] [--veths N]\n")
        exit(2)
    }
}
do {
    for measurement in try NetlinkBenchmark.run(routes: routes, veths: veths) {
        print(measurement)
    }
} catch {
    printError("netlink-bench: \(error)\n")
    exit(1)
}
