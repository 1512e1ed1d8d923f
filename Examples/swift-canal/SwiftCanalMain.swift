import CNISpec

#if canImport(Glibc)
import Glibc
#endif

@main
enum SwiftCanalMain {
    /// The request runs on the main thread (`PluginMain.runOnCallingThread()`): the kernel,
    /// host-local and file-store calls of ADD and DEL are synchronous underneath, so the
    /// concurrency pool need not start (if a call does suspend, the main thread waits for it).
    static func main() {
        exit(PluginMain(SwiftCanalPlugin()).runOnCallingThread())
    }
}
