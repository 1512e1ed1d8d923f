#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Tells whether an endpoint that hung up on a plain HTTP request speaks TLS, so that an
/// `http://` URL pointing at a TLS-only server (etcd with client certificates closes such a
/// connection without a byte) is reported as that configuration mistake, at once, instead of as
/// an unreachable server retried until the operation times out.
enum TLSProbe {
    /// Sends a TLS 1.2 ClientHello on a new connection and reports whether the first bytes back
    /// are a TLS record (a handshake or an alert, version 3.x). Any failure means "no".
    static func answersWithTLS(_ endpoint: HTTPEndpoint, timeoutMilliseconds: Int) -> Bool {
        let plain = HTTPEndpoint(host: endpoint.host, port: endpoint.port, usesTLS: false)
        guard let connection = try? HTTPConnection(endpoint: plain, timeoutMilliseconds: timeoutMilliseconds) else { return false }
        let descriptor = connection.socketDescriptor
        let hello = clientHello
        let sent = hello.withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        guard sent == hello.count else { return false }
        var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, Int32(timeoutMilliseconds)) == 1 else { return false }
        var header = [UInt8](repeating: 0, count: 2)
        let received = header.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, Int32(MSG_WAITALL)) }
        return received == 2 && (header[0] == 0x15 || header[0] == 0x16) && header[1] == 0x03
    }

    /// A minimal ClientHello: TLS 1.2, two ECDHE-ECDSA/RSA AES-128-GCM suites, P-256, and the
    /// signature algorithms ECDSA-P256-SHA256 and RSA-PSS-SHA256. A server either goes on with
    /// the handshake or sends an alert; both start with a TLS record header.
    static let clientHello: [UInt8] = {
        let extensions: [UInt8] = [
            0x00, 0x0a, 0x00, 0x04, 0x00, 0x02, 0x00, 0x17,  // supported_groups: secp256r1
            0x00, 0x0b, 0x00, 0x02, 0x01, 0x00,  // ec_point_formats: uncompressed
            0x00, 0x0d, 0x00, 0x06, 0x00, 0x04, 0x04, 0x03, 0x08, 0x04,  // signature_algorithms
        ]
        var body: [UInt8] = [0x03, 0x03] + [UInt8](repeating: 0x2a, count: 32) + [0x00]
        body += [0x00, 0x04, 0xc0, 0x2b, 0xc0, 0x2f, 0x01, 0x00]
        body += [UInt8(extensions.count >> 8), UInt8(extensions.count & 0xff)] + extensions
        let handshake: [UInt8] = [0x01, 0x00, UInt8(body.count >> 8), UInt8(body.count & 0xff)] + body
        return [0x16, 0x03, 0x01, UInt8(handshake.count >> 8), UInt8(handshake.count & 0xff)] + handshake
    }()
}
