import CNISpec
#if canImport(Glibc)
import Glibc
#endif

@main
struct SwiftIPAMMain {
    static func main() {
        exit(PluginMain(SwiftIPAMPlugin()).runOnCallingThread())
    }
}
