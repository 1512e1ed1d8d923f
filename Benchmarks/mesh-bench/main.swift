// mesh-bench: the same MeshBenchmark.run as `cnilab bench mesh`, in a binary that builds only
// the Mesh targets (a release cnilab builds the whole lab). Prints the table plus the process's
// CPU time and peak RSS (getrusage), so runs on a shared machine can be compared by CPU.
//
// Usage: mesh-bench [PEERS...] [--no-simulation] [--timeout SECONDS] [--idle SECONDS]
#if canImport(Glibc)
import Glibc
#endif
import MeshBenchmark

func printError(_ text: String) {
    let bytes = Array((text + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}

var options = MeshBenchmark.Options()
var counts: [Int] = []
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    switch argument {
    case "--no-simulation": options.simulation = false
    case "--timeout":
        guard let text = arguments.popFirst(), let seconds = Int(text) else { printError("--timeout needs seconds"); exit(2) }
        options.timeout = .seconds(seconds)
    case "--idle":
        guard let text = arguments.popFirst(), let seconds = Int(text) else { printError("--idle needs seconds"); exit(2) }
        options.idle = .seconds(seconds)
    default:
        guard let count = Int(argument), count > 1 else { printError("usage: mesh-bench [PEERS...] [--no-simulation] [--timeout SECONDS] [--idle SECONDS]"); exit(2) }
        counts.append(count)
    }
}
if !counts.isEmpty { options.peerCounts = counts }

do {
    let report = try await MeshBenchmark.run(options) { printError($0) }
    print(MeshBenchmark.table(report))
} catch {
    printError("mesh-bench: \(error)")
    exit(1)
}
var usage = rusage()
getrusage(RUSAGE_SELF.rawValue, &usage)
let user = Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
let system = Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
func tenths(_ value: Double) -> String { let t = Int((value * 10).rounded()); return "\(t / 10).\(t % 10)" }
print("cpu user \(tenths(user)) s, sys \(tenths(system)) s, peak RSS \(usage.ru_maxrss / 1024) MiB")
