import CNISpec
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

@main
enum SwiftPTPMain {
    /// A synchronous `main`: the request runs on the main thread, and the process ends with
    /// `exit`, never `pthread_exit` (which an `async` main would cost, about 15 ms when static).
    static func main() {
        exit(PluginMain(PTPPlugin()).runOnCallingThread())
    }
}
