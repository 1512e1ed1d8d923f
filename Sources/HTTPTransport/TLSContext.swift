internal import COpenSSL
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

internal import COpenSSL
internal import SystemSupport
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// What a TLS client trusts and presents: the CA(s) the server certificate must chain to (the
/// system's trust store when none is given), an optional client certificate and key, each from
/// a PEM file or PEM bytes (a kubeconfig's `certificate-authority-data`), and the name to
/// verify the server against. ``SettingNames`` say how the user spells these settings, so every
/// message names the option to fix.
public struct TLSConfiguration: Hashable, Sendable {
    /// PEM material: a file, or the bytes themselves.
    public enum Source: Hashable, Sendable {
        case file(String)
        case pem([UInt8])
    }

    /// How the configuration that gave these values names them (for messages).
    public struct SettingNames: Hashable, Sendable {
        public var certificateAuthority: String
        public var certificate: String
        public var key: String
        public init(certificateAuthority: String, certificate: String, key: String) {
            self.certificateAuthority = certificateAuthority
            self.certificate = certificate
            self.key = key
        }
    }

    public var certificateAuthority: Source?
    public var certificate: Source?
    public var key: Source?
    /// The name the server certificate must carry instead of the endpoint's host.
    public var serverName: String?
    /// Accept any server certificate (a kubeconfig's `insecure-skip-tls-verify`).
    public var skipsVerification: Bool
    public var names: SettingNames

    public init(
        certificateAuthority: Source? = nil, certificate: Source? = nil, key: Source? = nil, serverName: String? = nil,
        skipsVerification: Bool = false,
        names: SettingNames = SettingNames(certificateAuthority: "CA", certificate: "client certificate", key: "client key")
    ) {
        self.certificateAuthority = certificateAuthority
        self.certificate = certificate
        self.key = key
        self.serverName = serverName
        self.skipsVerification = skipsVerification
        self.names = names
    }
}

extension TLSConfiguration.Source {
    /// "the CA file /x" or "the CA data", for messages.
    func shown(file: String, data: String) -> String {
        switch self {
        case .file(let path): "the \(file) \(path)"
        case .pem: "the \(data)"
        }
    }
}

/// A loaded ``TLSConfiguration``, shared by the connections of one client. Loading checks what
/// can be checked locally (files readable, key matching the certificate, certificate not
/// expired), so a misconfiguration is reported before any connection, naming the file or
/// setting.
///
/// `@unchecked Sendable`: the OpenSSL context is configured once in `init` and only read
/// afterwards (`SSL_new`), which OpenSSL documents as safe from several threads.
public final class TLSContext: @unchecked Sendable {
    private let context: OpaquePointer
    public let configuration: TLSConfiguration

    /// Loads the configuration; `endpoints` names the server(s) in errors.
    public init(_ configuration: TLSConfiguration, endpoints: String? = nil) throws(HTTPTransportError) {
        func failure(_ message: String) -> HTTPTransportError {
            HTTPTransportError(.tlsFailed, "\(message)\(Self.drainErrors().map { ": \($0)" } ?? "")", endpoint: endpoints)
        }
        guard let context = SSL_CTX_new(TLS_client_method()) else { throw failure("cannot create a TLS context") }
        self.context = context
        self.configuration = configuration
        let names = configuration.names
        _ = swiftcni_ssl_ctx_set_min_tls12(context)
        swiftcni_ssl_ctx_ignore_unexpected_eof(context)
        SSL_CTX_set_verify(context, configuration.skipsVerification ? SSL_VERIFY_NONE : SSL_VERIFY_PEER, nil)
        switch configuration.certificateAuthority {
        case .file(let caFile)?:
            guard SSL_CTX_load_verify_locations(context, caFile, nil) == 1 else {
                throw failure("cannot load the CA file \(caFile) (\(names.certificateAuthority))")
            }
        case .pem(let bytes)?:
            guard Self.addAuthorities(bytes, to: context) else {
                throw failure("cannot load the CA data (\(names.certificateAuthority)): no PEM certificate in it")
            }
        case nil:
            SSL_CTX_set_default_verify_paths(context)
        }
        switch (configuration.certificate, configuration.key) {
        case (nil, nil):
            break
        case (let certificate?, let key?):
            let shownCertificate = certificate.shown(file: "client certificate", data: "client certificate data"), shownKey = key.shown(file: "client key", data: "client key data")
            guard Self.useCertificate(certificate, context) else {
                throw failure("cannot load \(shownCertificate) (\(names.certificate))")
            }
            guard Self.useKey(key, context) else {
                throw failure("cannot load \(shownKey) (\(names.key))")
            }
            guard SSL_CTX_check_private_key(context) == 1 else {
                throw failure("\(shownKey) does not belong to \(shownCertificate)")
            }
            if let leaf = SSL_CTX_get0_certificate(context) {
                if X509_cmp_current_time(X509_get0_notAfter(leaf)) < 0 {
                    throw failure("\(shownCertificate) has expired (not after \(Self.text(X509_get0_notAfter(leaf))))")
                }
                if X509_cmp_current_time(X509_get0_notBefore(leaf)) > 0 {
                    throw failure("\(shownCertificate) is not valid yet (not before \(Self.text(X509_get0_notBefore(leaf))))")
                }
            }
        case (.some, nil), (nil, .some):
            throw failure("a client certificate needs both a certificate and a key (\(names.certificate) and \(names.key))")
        }
    }

    /// Adds every certificate of a PEM bundle to the trust store; false when there is none.
    private static func addAuthorities(_ pem: [UInt8], to context: OpaquePointer) -> Bool {
        guard let store = SSL_CTX_get_cert_store(context) else { return false }
        return withMemoryBIO(pem) { bio in
            var added = 0
            while let certificate = PEM_read_bio_X509(bio, nil, nil, nil) {
                if X509_STORE_add_cert(store, certificate) == 1 { added += 1 }
                X509_free(certificate)
            }
            ERR_clear_error()  // the loop ends on "no start line"
            return added > 0
        }
    }

    private static func useCertificate(_ source: TLSConfiguration.Source, _ context: OpaquePointer) -> Bool {
        switch source {
        case .file(let path): return SSL_CTX_use_certificate_chain_file(context, path) == 1
        case .pem(let bytes):
            return withMemoryBIO(bytes) { bio in
                guard let leaf = PEM_read_bio_X509(bio, nil, nil, nil) else { return false }
                defer { X509_free(leaf) }
                guard SSL_CTX_use_certificate(context, leaf) == 1 else { return false }
                // The rest of the bundle: intermediates sent along with the leaf.
                while let intermediate = PEM_read_bio_X509(bio, nil, nil, nil) {
                    if swiftcni_ssl_ctx_add0_chain_cert(context, intermediate) != 1 { X509_free(intermediate) }
                }
                ERR_clear_error()
                return true
            }
        }
    }

    private static func useKey(_ source: TLSConfiguration.Source, _ context: OpaquePointer) -> Bool {
        switch source {
        case .file(let path): return SSL_CTX_use_PrivateKey_file(context, path, SSL_FILETYPE_PEM) == 1
        case .pem(let bytes):
            return withMemoryBIO(bytes) { bio in
                guard let key = PEM_read_bio_PrivateKey(bio, nil, nil, nil) else { return false }
                defer { EVP_PKEY_free(key) }
                return SSL_CTX_use_PrivateKey(context, key) == 1
            }
        }
    }

    private static func withMemoryBIO(_ bytes: [UInt8], _ body: (OpaquePointer) -> Bool) -> Bool {
        bytes.withUnsafeBytes { raw in
            guard let bio = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count)) else { return false }
            defer { BIO_free(bio) }
            return body(bio)
        }
    }

    deinit { SSL_CTX_free(context) }

    /// A new session on a connected socket, verifying the server's name (or IP address).
    func session(descriptor: Int32, host: String, endpoint: HTTPEndpoint) throws(HTTPConnection.Failure) -> TLSSession {
        let host = configuration.serverName ?? host
        guard let ssl = SSL_new(context) else {
            throw HTTPConnection.Failure(stage: .connecting, error: HTTPTransportError(
                .tlsFailed, "cannot create a TLS session", endpoint: endpoint.description))
        }
        let session = TLSSession(ssl: ssl, context: self, endpoint: endpoint)
        SSL_set_fd(ssl, descriptor)
        if Self.isIPAddress(host) {
            X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host)
        } else {
            SSL_set1_host(ssl, host)
            _ = swiftcni_ssl_set_server_name(ssl, host)
        }
        return session
    }

    private static func isIPAddress(_ host: String) -> Bool {
        var buffer = [UInt8](repeating: 0, count: 16)
        return inet_pton(AF_INET, host, &buffer) == 1 || inet_pton(AF_INET6, host, &buffer) == 1
    }

    private static func text(_ time: UnsafePointer<ASN1_TIME>?) -> String {
        guard let time, let data = ASN1_STRING_get0_data(time) else { return "?" }
        return String(decoding: UnsafeBufferPointer(start: data, count: Int(ASN1_STRING_length(time))), as: UTF8.self)
    }

    /// OpenSSL's queued error reasons ("certificate verify failed", "tlsv13 alert certificate
    /// required"…), oldest first; the queue is emptied.
    public static func drainErrors() -> String? {
        var reasons: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            if let reason = ERR_reason_error_string(code) {
                reasons.append(String(cString: reason))
            } else {
                reasons.append("OpenSSL error \(code)")
            }
        }
        return reasons.isEmpty ? nil : reasons.joined(separator: ", ")
    }
}

/// One TLS connection over a connected non-blocking socket, confined to the thread of its
/// ``HTTPConnection``. Every wait is a `poll` bounded by the connection's deadline (none for a
/// watch stream, which ends on connection closure like the plain one).
final class TLSSession {
    private let ssl: OpaquePointer
    private let context: TLSContext
    private let endpoint: HTTPEndpoint
    private var handshakeDone = false

    fileprivate init(ssl: OpaquePointer, context: TLSContext, endpoint: HTTPEndpoint) {
        self.ssl = ssl
        self.context = context
        self.endpoint = endpoint
    }

    deinit { SSL_free(ssl) }

    func handshake(descriptor: Int32, deadline: Int64?) throws(HTTPConnection.Failure) {
        let mask = SignalMask.blockPipe()
        defer { mask.restore() }
        while true {
            ERR_clear_error()
            let result = SSL_connect(ssl)
            if result == 1 { handshakeDone = true; return }
            try waitFor(SSL_get_error(ssl, result), descriptor: descriptor, deadline: deadline, stage: .connecting)
        }
    }

    /// Decrypted bytes OpenSSL holds that the connection has not read yet.
    var pendingBytes: Int { Int(SSL_pending(ssl)) }

    /// Reads up to `buffer.count` bytes; 0 at the end of the stream.
    func read(into buffer: UnsafeMutableRawBufferPointer, descriptor: Int32, deadline: Int64?) throws(HTTPConnection.Failure) -> Int {
        let mask = SignalMask.blockPipe()
        defer { mask.restore() }
        while true {
            ERR_clear_error()
            let count = SSL_read(ssl, buffer.baseAddress, Int32(buffer.count))
            if count > 0 { return Int(count) }
            let error = SSL_get_error(ssl, count)
            if error == SSL_ERROR_ZERO_RETURN { return 0 }
            // A peer that hangs up without close_notify (or a shut-down socket): end of stream.
            if error == SSL_ERROR_SYSCALL, errno == 0 || errno == ESHUTDOWN { return 0 }
            try waitFor(error, descriptor: descriptor, deadline: deadline, stage: .exchanging)
        }
    }

    /// Writes all of `bytes`.
    func write(_ bytes: [UInt8], descriptor: Int32, deadline: Int64?) throws(HTTPConnection.Failure) {
        let mask = SignalMask.blockPipe()
        defer { mask.restore() }
        var offset = 0
        while offset < bytes.count {
            ERR_clear_error()
            let written = bytes.withUnsafeBytes { SSL_write(ssl, $0.baseAddress! + offset, Int32($0.count - offset)) }
            if written > 0 {
                offset += Int(written)
                continue
            }
            try waitFor(SSL_get_error(ssl, written), descriptor: descriptor, deadline: deadline, stage: .exchanging)
        }
    }

    /// Waits for the socket when OpenSSL asks to; otherwise throws the failure, worded for
    /// the user (an untrusted server, a rejected client certificate).
    private func waitFor(_ error: Int32, descriptor: Int32, deadline: Int64?, stage: HTTPConnection.Stage) throws(HTTPConnection.Failure) {
        let events: Int16
        switch error {
        case SSL_ERROR_WANT_READ: events = Int16(POLLIN)
        case SSL_ERROR_WANT_WRITE: events = Int16(POLLOUT)
        case SSL_ERROR_SYSCALL:
            let code = errno
            let reason = TLSContext.drainErrors()
            throw HTTPConnection.Failure(stage: stage, error: HTTPTransportError(
                code == EAGAIN || code == EWOULDBLOCK ? .timedOut : .unavailable,
                "TLS connection failed: \(code == 0 ? (reason ?? "connection closed") : String(cString: strerror(code)))",
                errno: code == 0 ? nil : code, endpoint: endpoint.description))
        default:
            throw HTTPConnection.Failure(stage: stage, error: describe(TLSContext.drainErrors() ?? "TLS error \(error)"))
        }
        while true {
            var timeout: Int32 = -1
            if let deadline {
                let remaining = deadline - MonotonicClock.milliseconds()
                guard remaining > 0 else { throw timedOut(stage) }
                timeout = Int32(min(remaining, Int64(Int32.max)))
            }
            var poller = pollfd(fd: descriptor, events: events, revents: 0)
            let ready = poll(&poller, 1, timeout)
            if ready > 0 { return }
            if ready == 0 { throw timedOut(stage) }
            if errno != EINTR {
                throw HTTPConnection.Failure(stage: stage, error: HTTPTransportError(
                    .unavailable, "poll failed: \(String(cString: strerror(errno)))", errno: errno, endpoint: endpoint.description))
            }
        }
    }

    private func timedOut(_ stage: HTTPConnection.Stage) -> HTTPConnection.Failure {
        HTTPConnection.Failure(stage: stage, error: HTTPTransportError(
            .timedOut, handshakeDone ? "no complete response within the request timeout" : "TLS handshake not finished within the request timeout",
            errno: ETIMEDOUT, endpoint: endpoint.description))
    }

    /// A protocol-level TLS failure in words: whose certificate was refused and why.
    private func describe(_ reason: String) -> HTTPTransportError {
        let configuration = context.configuration
        let verification = SSL_get_verify_result(ssl)
        let message: String
        if verification != X509_V_OK {
            let why = String(cString: X509_verify_cert_error_string(verification))
            let trust = configuration.certificateAuthority.map { $0.shown(file: "CA file", data: "CA data") } ?? "the system's trusted CAs"
            message = "TLS: the server certificate is not trusted by \(trust): \(why)"
        } else if reason.contains("alert") {
            let given = configuration.certificate.map { $0.shown(file: "client certificate", data: "client certificate data") }
                ?? "no client certificate (give \(configuration.names.certificate) and \(configuration.names.key))"
            message = "TLS: the server refused the connection (\(reason)); it was offered \(given)"
        } else if handshakeDone {
            // A broken stream after a good handshake: the connection, not the configuration.
            return HTTPTransportError(.unavailable, "TLS connection failed: \(reason)", endpoint: endpoint.description)
        } else {
            message = "TLS failed: \(reason)"
        }
        return HTTPTransportError(.tlsFailed, message, endpoint: endpoint.description)
    }
}

/// SIGPIPE blocked on the calling thread while OpenSSL touches the socket (it writes with
/// write(2), not send with MSG_NOSIGNAL, during handshakes, writes and alerts): a peer that
/// hung up must give EPIPE, not kill the plugin. A SIGPIPE raised meanwhile is consumed.
private struct SignalMask {
    var previous = sigset_t()

    static func blockPipe() -> SignalMask {
        var mask = SignalMask()
        var blocked = pipeSet()
        pthread_sigmask(SIG_BLOCK, &blocked, &mask.previous)
        return mask
    }

    private static func pipeSet() -> sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGPIPE)
        return set
    }

    func restore() {
        var pending = sigset_t()
        sigpending(&pending)
        if sigismember(&pending, SIGPIPE) == 1 {
            var blocked = Self.pipeSet()
            var zero = timespec(tv_sec: 0, tv_nsec: 0)
            _ = sigtimedwait(&blocked, nil, &zero)
        }
        var previous = previous
        pthread_sigmask(SIG_SETMASK, &previous, nil)
    }
}
