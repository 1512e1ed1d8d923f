internal import COpenSSL
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The TLS settings of one ``EtcdDatastore``, loaded once: the CA file the server certificate
/// must chain to (the system's trust store when none is given) and the client certificate and
/// key. Loading checks what can be checked locally (files readable, key matching the
/// certificate, certificate not expired), so a misconfiguration is reported before any
/// connection, naming the file.
///
/// `@unchecked Sendable`: the OpenSSL context is configured once in `init` and only read
/// afterwards (`SSL_new`), which OpenSSL documents as safe from several threads.
final class TLSContext: @unchecked Sendable {
    private let context: OpaquePointer
    let security: EtcdSecurity

    init(security: EtcdSecurity, endpoints: String) throws(DatastoreError) {
        func failure(_ message: String) -> DatastoreError {
            DatastoreError(.tlsFailed, "\(message)\(Self.drainErrors().map { ": \($0)" } ?? "")", endpoint: endpoints)
        }
        guard let context = SSL_CTX_new(TLS_client_method()) else { throw failure("cannot create a TLS context") }
        self.context = context
        self.security = security
        _ = swiftcni_ssl_ctx_set_min_tls12(context)
        swiftcni_ssl_ctx_ignore_unexpected_eof(context)
        SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
        if let caFile = security.certificateAuthorityFile {
            guard SSL_CTX_load_verify_locations(context, caFile, nil) == 1 else {
                throw failure("cannot load the CA file \(caFile) (--etcd-cafile, etcd_ca_cert_file)")
            }
        } else {
            SSL_CTX_set_default_verify_paths(context)
        }
        switch (security.certificateFile, security.keyFile) {
        case (nil, nil):
            break
        case (let certificate?, let key?):
            guard SSL_CTX_use_certificate_chain_file(context, certificate) == 1 else {
                throw failure("cannot load the client certificate \(certificate) (--etcd-certfile, etcd_cert_file)")
            }
            guard SSL_CTX_use_PrivateKey_file(context, key, SSL_FILETYPE_PEM) == 1 else {
                throw failure("cannot load the client key \(key) (--etcd-keyfile, etcd_key_file)")
            }
            guard SSL_CTX_check_private_key(context) == 1 else {
                throw failure("the client key \(key) does not belong to the certificate \(certificate)")
            }
            if let leaf = SSL_CTX_get0_certificate(context) {
                if X509_cmp_current_time(X509_get0_notAfter(leaf)) < 0 {
                    throw failure("the client certificate \(certificate) has expired (not after \(Self.text(X509_get0_notAfter(leaf))))")
                }
                if X509_cmp_current_time(X509_get0_notBefore(leaf)) > 0 {
                    throw failure("the client certificate \(certificate) is not valid yet (not before \(Self.text(X509_get0_notBefore(leaf))))")
                }
            }
        case (.some, nil), (nil, .some):
            throw failure("a client certificate needs both a certificate and a key file (--etcd-certfile and --etcd-keyfile)")
        }
    }

    deinit { SSL_CTX_free(context) }

    /// A new session on a connected socket, verifying the server's name (or IP address).
    func session(descriptor: Int32, host: String, endpoint: HTTPEndpoint) throws(HTTPConnection.Failure) -> TLSSession {
        guard let ssl = SSL_new(context) else {
            throw HTTPConnection.Failure(stage: .connecting, error: DatastoreError(
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
    static func drainErrors() -> String? {
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
            throw HTTPConnection.Failure(stage: stage, error: DatastoreError(
                code == EAGAIN || code == EWOULDBLOCK ? .timedOut : .unavailable,
                "TLS connection failed: \(code == 0 ? (reason ?? "connection closed") : String(cString: strerror(code)))",
                errno: code == 0 ? nil : code, endpoint: endpoint.description))
        default:
            throw HTTPConnection.Failure(stage: stage, error: describe(TLSContext.drainErrors() ?? "TLS error \(error)"))
        }
        while true {
            var timeout: Int32 = -1
            if let deadline {
                let remaining = deadline - FileSystem.monotonicMilliseconds()
                guard remaining > 0 else { throw timedOut(stage) }
                timeout = Int32(min(remaining, Int64(Int32.max)))
            }
            var poller = pollfd(fd: descriptor, events: events, revents: 0)
            let ready = poll(&poller, 1, timeout)
            if ready > 0 { return }
            if ready == 0 { throw timedOut(stage) }
            if errno != EINTR {
                throw HTTPConnection.Failure(stage: stage, error: DatastoreError(
                    .unavailable, "poll failed: \(String(cString: strerror(errno)))", errno: errno, endpoint: endpoint.description))
            }
        }
    }

    private func timedOut(_ stage: HTTPConnection.Stage) -> HTTPConnection.Failure {
        HTTPConnection.Failure(stage: stage, error: DatastoreError(
            .timedOut, handshakeDone ? "no complete response within the request timeout" : "TLS handshake not finished within the request timeout",
            errno: ETIMEDOUT, endpoint: endpoint.description))
    }

    /// A protocol-level TLS failure in words: whose certificate was refused and why.
    private func describe(_ reason: String) -> DatastoreError {
        let security = context.security
        let verification = SSL_get_verify_result(ssl)
        let message: String
        if verification != X509_V_OK {
            let why = String(cString: X509_verify_cert_error_string(verification))
            let trust = security.certificateAuthorityFile.map { "the CA file \($0)" } ?? "the system's trusted CAs"
            message = "TLS: the server certificate is not trusted by \(trust): \(why)"
        } else if reason.contains("alert") {
            let given = security.certificateFile.map { "the client certificate \($0)" }
                ?? "no client certificate (give --etcd-certfile/--etcd-keyfile, etcd_cert_file/etcd_key_file)"
            message = "TLS: the server refused the connection (\(reason)); it was offered \(given)"
        } else if handshakeDone {
            // A broken stream after a good handshake: the connection, not the configuration.
            return DatastoreError(.unavailable, "TLS connection failed: \(reason)", endpoint: endpoint.description)
        } else {
            message = "TLS failed: \(reason)"
        }
        return DatastoreError(.tlsFailed, message, endpoint: endpoint.description)
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
