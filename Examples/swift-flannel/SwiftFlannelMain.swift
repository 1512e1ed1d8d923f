import CNISpec

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

@main
enum SwiftFlannelMain {
    static func main() async {
        exit(await PluginMain(SwiftFlannelPlugin()).run())
    }
}
