import CNISpec
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

@main
enum SwiftCalicoMain {
    /// The request runs on the main thread (`PluginMain.runOnCallingThread()`): with host-local in process the ADD
    /// path never suspends, so the concurrency pool is never started.
    static func main() {
        exit(PluginMain(SwiftCalicoPlugin()).runOnCallingThread())
    }
}
