import ChildProcess
import Datastore
import Foundation

/// A throw-away PKI for an etcd that requires TLS client certificates, made with the
/// `openssl` command in a directory the caller owns (the lab's state directory, a test's
/// temporary directory): a CA, a server certificate for the given addresses, and client
/// certificates. ECDSA P-256 keys: quick to make and to handshake.
///
/// `openssl` equivalent of ``generate(in:serverAddresses:validDays:)``:
/// `openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca-key.pem -out ca.pem -subj /CN=…`
/// then `openssl req -newkey …` and `openssl x509 -req -CA ca.pem -CAkey ca-key.pem -extfile …` per certificate.
public struct EtcdCertificates: Sendable {
    public let directory: String
    /// The CA certificate: etcd's `--trusted-ca-file`, the clients' `--etcd-cafile`.
    public var caFile: String { directory + "/ca.pem" }
    public var caKeyFile: String { directory + "/ca-key.pem" }
    public var serverCertificateFile: String { directory + "/server.pem" }
    public var serverKeyFile: String { directory + "/server-key.pem" }
    /// The client certificate every plugin and agent presents (`--etcd-certfile`).
    public var clientCertificateFile: String { directory + "/client.pem" }
    public var clientKeyFile: String { directory + "/client-key.pem" }

    /// What a client needs to reach the etcd these certificates secure.
    public var clientSecurity: EtcdSecurity {
        EtcdSecurity(certificateAuthorityFile: caFile, certificateFile: clientCertificateFile, keyFile: clientKeyFile)
    }

    /// Makes the CA, a server certificate valid for `serverAddresses` (IP addresses or DNS
    /// names) and a client certificate, all valid for `validDays`.
    public static func generate(in directory: String, serverAddresses: [String], validDays: Int = 30) throws -> EtcdCertificates {
        let certificates = EtcdCertificates(directory: directory)
        try certificates.makeAuthority(name: "ca", commonName: "swiftcni etcd CA", validDays: validDays)
        try certificates.issue(name: "server", commonName: "etcd", addresses: serverAddresses, validDays: validDays, server: true)
        try certificates.issue(name: "client", commonName: "swiftcni", validDays: validDays)
        return certificates
    }

    public init(directory: String) {
        self.directory = directory
    }

    /// A self-signed CA as `NAME.pem` and `NAME-key.pem`.
    public func makeAuthority(name: String, commonName: String, validDays: Int = 30) throws {
        try Self.openssl([
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", "\(directory)/\(name)-key.pem", "-out", "\(directory)/\(name).pem",
            "-days", String(validDays), "-subj", "/CN=\(commonName)",
        ])
    }

    /// A certificate `NAME.pem` with key `NAME-key.pem`, signed by the CA `authority`
    /// (default: this directory's `ca`). A negative `validDays` makes one that has expired.
    public func issue(
        name: String, commonName: String, addresses: [String] = [], validDays: Int = 30, server: Bool = false,
        authority: String = "ca"
    ) throws {
        let request = "\(directory)/\(name).csr", extensions = "\(directory)/\(name).ext"
        try Self.openssl([
            "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", "\(directory)/\(name)-key.pem", "-out", request, "-subj", "/CN=\(commonName)",
        ])
        var lines = ["extendedKeyUsage = \(server ? "serverAuth, clientAuth" : "clientAuth")"]
        if !addresses.isEmpty {
            let names = addresses.map { $0.contains(":") || $0.allSatisfy({ $0.isNumber || $0 == "." }) ? "IP:\($0)" : "DNS:\($0)" }
            lines.append("subjectAltName = " + names.joined(separator: ","))
        }
        try (lines.joined(separator: "\n") + "\n").write(toFile: extensions, atomically: true, encoding: .utf8)
        try Self.openssl([
            "x509", "-req", "-in", request, "-CA", "\(directory)/\(authority).pem", "-CAkey", "\(directory)/\(authority)-key.pem",
            "-CAcreateserial", "-days", String(validDays), "-extfile", extensions, "-out", "\(directory)/\(name).pem",
        ])
    }

    private static func openssl(_ arguments: [String]) throws {
        let output = try ChildProcess.run(
            "/usr/bin/openssl", arguments: arguments, environment: ["PATH": "/usr/bin:/bin"], timeoutMilliseconds: 20_000)
        guard output.status.isSuccess else {
            throw LabError(.process, "openssl \(arguments.prefix(2).joined(separator: " ")) failed: \(output.standardErrorText)")
        }
    }
}
