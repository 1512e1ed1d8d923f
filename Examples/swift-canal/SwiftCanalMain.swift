import CNISpec

#if canImport(Glibc)
import Glibc
#endif

@main
enum SwiftCanalMain {
    static func main() async {
        exit(await PluginMain(SwiftCanalPlugin()).run())
    }
}
