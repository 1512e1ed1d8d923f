// cni-add-bench: pod ADD/DEL latency of swift-flannel against the reference bridge + host-local
// plugins, in namespaces it creates and removes. Needs root. Build and run:
//   swift build -c release --static-swift-stdlib --product swift-flannel
//   swift build -c release --static-swift-stdlib --product cni-add-bench
//   $(swift build -c release --static-swift-stdlib --show-bin-path)/cni-add-bench [--pods N] [--plugin PATH]
#if canImport(Glibc)
import Glibc
#endif
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

var options = CNIAddBenchmark.Options(swiftFlannel: siblingPlugin())
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    switch argument {
    case "--pods": options.pods = arguments.popFirst().flatMap { Int($0) } ?? options.pods
    case "--plugin": options.swiftFlannel = arguments.popFirst() ?? options.swiftFlannel
    case "--reference-dir": options.referencePluginDirectory = arguments.popFirst() ?? options.referencePluginDirectory
    default:
        printError("usage: cni-add-bench [--pods N] [--plugin PATH] [--reference-dir DIR]\n")
        exit(2)
    }
}
do {
    print(try CNIAddBenchmark.run(options))
} catch {
    printError("cni-add-bench: \(error)\n")
    exit(1)
}
