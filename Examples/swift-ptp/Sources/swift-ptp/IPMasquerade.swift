import CNISpec
import ChildProcess
import NetPrimitives

/// `ipMasq`: traffic from the pod to outside its subnet leaves the node with the node's
/// address, through iptables as the reference plugins set it up: a chain per attachment in the
/// `nat` table that accepts traffic to the pod's subnet and masquerades the rest (but
/// multicast), jumped to from `POSTROUTING` for the pod's source address, with a comment
/// naming the network and the container.
///
/// ```sh
/// iptables -t nat -N CHAIN
/// iptables -t nat -A CHAIN -d 10.1.1.0/24 -j ACCEPT -m comment --comment 'name: "net" id: "c1"'
/// iptables -t nat -A CHAIN ! -d 224.0.0.0/4 -j MASQUERADE -m comment --comment …
/// iptables -t nat -A POSTROUTING -s 10.1.1.5 -j CHAIN -m comment --comment …
/// ```
struct IPMasquerade {
    var network: String
    var containerID: String

    /// `CNI-` and 16 hex digits of a hash of the network and the container (a chain name must
    /// be short; the same attachment always gets the same chain).
    var chain: String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in network.utf8 + [0] + containerID.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        let digits = String(hash, radix: 16)
        return "CNI-" + String(repeating: "0", count: 16 - digits.count) + digits
    }

    var comment: String { "name: \"\(network)\" id: \"\(containerID)\"" }

    /// Sets the chain up for `sources` (each with its subnet's prefix); replaces a stale one.
    func add(sources: [IPNetwork]) throws(CNIError) {
        try remove()
        for family in [IPAddress.Family.v4, .v6] {
            let addresses = sources.filter { $0.family == family }
            guard !addresses.isEmpty else { continue }
            let multicast = family == .v4 ? "224.0.0.0/4" : "ff00::/8"
            try run(family, ["-N", chain])
            for source in addresses {
                try run(family, ["-A", chain, "-d", source.network.description, "-j", "ACCEPT", "-m", "comment", "--comment", comment])
            }
            try run(family, ["-A", chain, "!", "-d", multicast, "-j", "MASQUERADE", "-m", "comment", "--comment", comment])
            for source in addresses {
                try run(family, ["-A", "POSTROUTING", "-s", source.address.description, "-j", chain, "-m", "comment", "--comment", comment])
            }
        }
    }

    /// Removes the jumps to the chain and the chain; succeeds when they are gone.
    func remove() throws(CNIError) {
        for family in [IPAddress.Family.v4, .v6] {
            guard (try? executable(family)) != nil else { continue }
            let rules = (try? run(family, ["-S", "POSTROUTING"])) ?? ""
            for line in rules.split(separator: "\n") where line.hasPrefix("-A POSTROUTING ") && line.contains("-j \(chain)") {
                // `-S` prints each rule as the arguments that add it; the same with -D deletes it.
                try run(family, ["-D"] + Self.arguments(of: String(line.dropFirst(3))))
            }
            if (try? run(family, ["-S", chain])) != nil {
                try run(family, ["-F", chain])
                try run(family, ["-X", chain])
            }
        }
    }

    /// Splits an `iptables -S` line into arguments (double quotes group, as the shell would).
    static func arguments(of line: String) -> [String] {
        var result: [String] = []
        var current = ""
        var quoted = false
        var escaped = false
        var started = false
        for character in line {
            if escaped {
                current.append(character)
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else if character == "\"" {
                quoted.toggle()
                started = true
            } else if character == " ", !quoted {
                if started { result.append(current) }
                current = ""
                started = false
            } else {
                current.append(character)
                started = true
            }
        }
        if started { result.append(current) }
        return result
    }

    func executable(_ family: IPAddress.Family) throws(CNIError) -> String {
        let name = family == .v4 ? "iptables" : "ip6tables"
        guard let path = ChildProcess.find(name, in: ["/usr/sbin", "/sbin", "/usr/bin", "/bin"]) else {
            throw CNIError(.internal, "ipMasq needs \(name), which was not found")
        }
        return path
    }

    @discardableResult
    func run(_ family: IPAddress.Family, _ arguments: [String]) throws(CNIError) -> String {
        let path = try executable(family)
        let output: ChildProcess.Output
        do { output = try ChildProcess.run(path, arguments: ["-w", "-t", "nat"] + arguments, timeoutMilliseconds: 30_000) } catch {
            throw CNIError(.internal, "failed to run \(path)", details: "\(error)")
        }
        guard case .exited(0) = output.status else {
            throw CNIError(
                .internal, "\(path) -t nat \(arguments.joined(separator: " ")) failed",
                details: String(decoding: output.standardError, as: UTF8.self))
        }
        return String(decoding: output.standardOutput, as: UTF8.self)
    }
}
