import CNISpec

#if canImport(Glibc)
import Glibc
#endif

@main
enum SwiftWeaveMain {
    /// The request runs on the main thread (`PluginMain.runOnCallingThread()`): the kernel and
    /// socket calls of ADD and DEL are synchronous.
    static func main() {
        exit(PluginMain(SwiftWeavePlugin()).runOnCallingThread())
    }
}
