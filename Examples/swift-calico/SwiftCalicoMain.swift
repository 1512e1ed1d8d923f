import CNISpec
#if canImport(Glibc)
import Glibc
#endif

@main
struct SwiftCalicoMain {
    static func main() async {
        exit(await PluginMain(SwiftCalicoPlugin()).run())
    }
}
