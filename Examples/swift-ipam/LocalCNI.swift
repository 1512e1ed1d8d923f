// TEMPORARY: a minimal local reading of the CNI execution protocol (environment, stdin,
// result and error JSON), used until CNISpec's PluginMain lands on main. To be replaced by
// `PluginMain(SwiftIPAMPlugin()).run()`; keep the IPAM logic in SwiftIPAM.swift.
import IPAM
#if canImport(Glibc)
import Glibc
#endif

enum LocalCNI {
    static let supportedVersions = ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"]

    struct Failure: Error {
        var code: Int
        var message: String
        var details: String?
    }

    static func environment(_ name: String) -> String? { getenv(name).map { String(cString: $0) } }

    static func readStandardInput() -> [UInt8] {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = read(0, &buffer, buffer.count)
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { return bytes }
            bytes += buffer[0..<count]
        }
    }

    static func write(_ text: String, to fd: Int32) {
        var text = text
        text.withUTF8 { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Glibc.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if written <= 0 { return }
                offset += written
            }
        }
    }

    /// Runs the plugin; returns the exit status.
    static func run() async -> Int32 {
        var version = "1.0.0"
        do {
            guard let command = environment("CNI_COMMAND"), !command.isEmpty else {
                write("swift-ipam: host-local compatible, subnet-lease and block-affinity IPAM\nCNI protocol versions supported: \(supportedVersions.joined(separator: ", "))\n", to: 2)
                throw Failure(code: 4, message: "required env variables [CNI_COMMAND] missing")
            }
            let input = readStandardInput()
            if command == "VERSION" {
                write("{\"cniVersion\":\"1.0.0\",\"supportedVersions\":[\(supportedVersions.map { "\"\($0)\"" }.joined(separator: ","))]}", to: 1)
                return 0
            }
            let configuration: IPAMNetworkConfiguration
            do { configuration = try IPAMNetworkConfiguration.decode(input) } catch {
                throw Failure(code: 6, message: "failed to decode the network configuration", details: "\(error)")
            }
            version = configuration.cniVersion ?? "0.1.0"
            guard supportedVersions.contains(version) else {
                throw Failure(code: 1, message: "incompatible CNI version \(version)")
            }
            let needsContainer = ["ADD", "DEL", "CHECK"].contains(command)
            let containerID = environment("CNI_CONTAINERID") ?? ""
            let interfaceName = environment("CNI_IFNAME") ?? ""
            if needsContainer {
                let missing = ["CNI_CONTAINERID", "CNI_IFNAME", "CNI_PATH"] .filter { (environment($0) ?? "").isEmpty }
                    + (command == "DEL" ? [] : ["CNI_NETNS"].filter { (environment($0) ?? "").isEmpty })
                guard missing.isEmpty else {
                    throw Failure(code: 4, message: "required env variables [\(missing.joined(separator: ","))] missing")
                }
            }
            let ipam = SwiftIPAM(
                configuration: configuration, containerID: containerID, interfaceName: interfaceName,
                cniArguments: environment("CNI_ARGS") ?? "")
            switch command {
            case "ADD":
                write(ResultEncoding.encode(try await ipam.add(), version: version), to: 1)
            case "DEL": try await ipam.delete()
            case "CHECK": try await ipam.check()
            case "GC": try await ipam.garbageCollect()
            case "STATUS": try await ipam.status()
            default: throw Failure(code: 4, message: "unknown CNI_COMMAND: \(command)")
            }
            return 0
        } catch let failure as Failure {
            write(errorJSON(failure, version: version), to: 1)
        } catch let error as IPAMError {
            let code = switch error.code {
            case .invalidConfiguration, .invalidIdentifier: 7
            case .contention: 11
            case .datastoreFailed: 11
            default: 999
            }
            write(errorJSON(Failure(code: code, message: error.message, details: error.underlying), version: version), to: 1)
        } catch {
            write(errorJSON(Failure(code: 999, message: "\(error)"), version: version), to: 1)
        }
        return 1
    }

    static func errorJSON(_ failure: Failure, version: String) -> String {
        var text = "{\"cniVersion\":\(ResultEncoding.quoted(version)),\"code\":\(failure.code),\"msg\":\(ResultEncoding.quoted(failure.message))"
        if let details = failure.details { text += ",\"details\":\(ResultEncoding.quoted(details))" }
        return text + "}"
    }
}

/// IPAM results as CNI JSON, per version (0.1.0/0.2.0: ip4/ip6; 0.3.x: ips with "version";
/// 0.4.0 and later: ips).
enum ResultEncoding {
    static func quoted(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result + "\""
    }

    static func route(_ route: RouteSpecification) -> String {
        var text = "{\"dst\":\(quoted(route.dst.description))"
        if let gateway = route.gw { text += ",\"gw\":\(quoted(gateway.description))" }
        return text + "}"
    }

    static func dns(_ dns: DNSSettings) -> String {
        var fields: [String] = []
        if !dns.nameservers.isEmpty { fields.append("\"nameservers\":[\(dns.nameservers.map(quoted).joined(separator: ","))]") }
        if let domain = dns.domain { fields.append("\"domain\":\(quoted(domain))") }
        if !dns.search.isEmpty { fields.append("\"search\":[\(dns.search.map(quoted).joined(separator: ","))]") }
        if !dns.options.isEmpty { fields.append("\"options\":[\(dns.options.map(quoted).joined(separator: ","))]") }
        return "{" + fields.joined(separator: ",") + "}"
    }

    static func encode(_ allocation: IPAMAllocation, version: String) -> String {
        if version == "0.1.0" || version == "0.2.0" {
            var fields = ["\"cniVersion\":\(quoted(version))"]
            for family in [(key: "ip4", v4: true), (key: "ip6", v4: false)] {
                guard let entry = allocation.addresses.first(where: { ($0.address.family == .v4) == family.v4 }) else { continue }
                var ip = "\"ip\":\(quoted(entry.address.description))"
                if let gateway = entry.gateway { ip += ",\"gateway\":\(quoted(gateway.description))" }
                let routes = allocation.routes.filter { ($0.dst.family == .v4) == family.v4 }
                if !routes.isEmpty { ip += ",\"routes\":[\(routes.map(route).joined(separator: ","))]" }
                fields.append("\"\(family.key)\":{\(ip)}")
            }
            if !allocation.dns.isEmpty { fields.append("\"dns\":\(dns(allocation.dns))") }
            return "{" + fields.joined(separator: ",") + "}"
        }
        let withVersion = version.hasPrefix("0.3.")
        let ips = allocation.addresses.map { entry in
            var text = "{"
            if withVersion { text += "\"version\":\(quoted(entry.address.family == .v4 ? "4" : "6")),"}
            text += "\"address\":\(quoted(entry.address.description))"
            if let gateway = entry.gateway { text += ",\"gateway\":\(quoted(gateway.description))" }
            return text + "}"
        }
        var fields = ["\"cniVersion\":\(quoted(version))", "\"ips\":[\(ips.joined(separator: ","))]"]
        if !allocation.routes.isEmpty { fields.append("\"routes\":[\(allocation.routes.map(route).joined(separator: ","))]") }
        fields.append("\"dns\":\(dns(allocation.dns))")
        return "{" + fields.joined(separator: ",") + "}"
    }
}
