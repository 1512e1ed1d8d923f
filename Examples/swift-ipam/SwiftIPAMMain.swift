import CNISpec
#if canImport(Glibc)
import Glibc
#endif

@main
struct SwiftIPAMMain {
    static func main() async {
        exit(await PluginMain(SwiftIPAMPlugin()).run())
    }
}
