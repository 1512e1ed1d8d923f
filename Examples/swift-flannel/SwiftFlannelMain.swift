import CNISpec

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

@main
enum SwiftFlannelMain {
    static func main() {
        exit(PluginMain(SwiftFlannelPlugin()).runOnCallingThread())
    }
}
