// The complete plugin shown at the top of the CNISpec documentation's landing page
// (Sources/CNISpec/CNISpec.docc/CNISpec.md); kept here so it is compiled and run by the tests.
import CNISpec

#if canImport(Glibc)
import Glibc
#endif

/// A chained plugin that passes the previous result through and logs to stderr.
struct HelloPlugin: CNIPlugin {
    func add(_ request: PluginRequest) async throws -> CNIResult {
        request.log("hello, \(request.containerID) on \(request.interfaceName?.value ?? "?")")
        return try request.previousResult() ?? CNIResult(cniVersion: request.version)
    }

    func delete(_ request: PluginRequest) async throws {
        request.log("goodbye, \(request.containerID)")
    }
}

@main
enum Main {
    static func main() {
        exit(PluginMain(HelloPlugin()).runOnCallingThread())
    }
}
