// cni-add-bench: pod ADD/DEL latency of swift-flannel against the reference bridge + host-local
// plugins, in namespaces it creates and removes. Needs root. Build and run:
//   swift build -c release --static-swift-stdlib --product swift-flannel
//   swift build -c release --static-swift-stdlib --product cni-add-bench
//   $(swift build -c release --static-swift-stdlib --show-bin-path)/cni-add-bench [--pods N] [--plugin PATH]
#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import CNIAddBenchmark

func printError(_ text: String) {
    let bytes = Array(text.utf8)
    _ = write(2, bytes, bytes.count)
}

/// swift-flannel next to this executable by default.
func siblingPlugin() -> String {
    var buffer = [CChar](repeating: 0, count: 4096)
    let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    guard count > 0 else { return "swift-flannel" }
    let path = String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return String(path[..<(path.lastIndex(of: "/") ?? path.endIndex)]) + "/swift-flannel"
}

struct Arguments: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "cni-add-bench")

    @Option(help: "Pods per run.") var pods: Int?
    @Option(help: "The swift-flannel plugin (default: next to this executable).") var plugin: String?
    @Option(name: .customLong("reference-dir"), help: "The reference CNI plugins.") var referenceDirectory: String?

    func validate() throws {
        if let pods, pods < 1 { throw ValidationError("--pods must be at least 1") }
    }
}

let arguments = Arguments.parseOrExit()
var options = CNIAddBenchmark.Options(swiftFlannel: arguments.plugin ?? siblingPlugin())
if let pods = arguments.pods { options.pods = pods }
if let directory = arguments.referenceDirectory { options.referencePluginDirectory = directory }
do {
    print(try CNIAddBenchmark.run(options))
} catch {
    printError("cni-add-bench: \(error)\n")
    exit(1)
}
