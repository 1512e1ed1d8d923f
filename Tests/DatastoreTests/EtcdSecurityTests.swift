import Lab
import TestSupport
import Testing
@testable import Datastore

/// The etcd client against a real etcd that requires TLS client certificates (a PKI made with
/// openssl per test) and one with etcd users on. One etcd per test: the contract first, then
/// every misconfiguration against the same member, each with the error it must give.
@Suite(.serialized) struct EtcdSecurityTests {
    @Test func fulfilsTheContractOnAnEtcdRequiringClientCertificates() async throws {
        try await EtcdCluster.with(members: 1, guard: .init(clientCertificates: true), timeLimit: .seconds(120)) { cluster in
            #expect(cluster.location.hasPrefix("etcd:https://127.0.0.1:"))
            let store = try StoreLocation.open(cluster.location, security: cluster.security)
            let failures = try await exerciseContract(store, prefix: "/tls/")
            #expect(failures.isEmpty, "\(failures)")
            let transactionFailures = try await exerciseTransactions(store, prefix: "/tls/")
            #expect(transactionFailures.isEmpty, "\(transactionFailures)")
            // By name too: the server certificate names localhost.
            let byName = HTTPEndpoint(host: "localhost", port: cluster.members[0].clientPort, usesTLS: true)
            #expect(try await EtcdDatastore(endpoints: [byName], security: cluster.security).get("/tls/none") == nil)
        }
    }

    @Test func everyTLSMisconfigurationFailsFastNamingTheEndpoint() async throws {
        try await EtcdCluster.with(members: 1, guard: .init(clientCertificates: true), timeLimit: .seconds(120)) { cluster in
            let pki = try #require(cluster.certificates)
            let endpoint = cluster.endpoints[0]
            try pki.makeAuthority(name: "other-ca", commonName: "not the etcd CA")
            try pki.issue(name: "expired", commonName: "swiftcni", validDays: -1)
            try pki.issue(name: "stranger", commonName: "swiftcni", authority: "other-ca")
            let good = cluster.security

            var wrongCA = good
            wrongCA.certificateAuthorityFile = pki.directory + "/other-ca.pem"
            let untrusted = try await failure(endpoint, wrongCA)
            #expect(untrusted.code == .tlsFailed)
            #expect(untrusted.message.contains("not trusted by the CA file \(pki.directory)/other-ca.pem"), "\(untrusted)")

            var missingCertificate = good
            missingCertificate.certificateFile = nil
            missingCertificate.keyFile = nil
            let refused = try await failure(endpoint, missingCertificate)
            #expect(refused.code == .tlsFailed)
            #expect(refused.message.contains("server refused") && refused.message.contains("no client certificate"), "\(refused)")

            var expired = good
            expired.certificateFile = pki.directory + "/expired.pem"
            expired.keyFile = pki.directory + "/expired-key.pem"
            let expiredError = try await failure(endpoint, expired)
            #expect(expiredError.code == .tlsFailed)
            #expect(expiredError.message.contains("client certificate \(pki.directory)/expired.pem has expired"), "\(expiredError)")

            var stranger = good
            stranger.certificateFile = pki.directory + "/stranger.pem"
            stranger.keyFile = pki.directory + "/stranger-key.pem"
            let strangerError = try await failure(endpoint, stranger)
            #expect(strangerError.code == .tlsFailed)
            #expect(strangerError.message.contains("server refused") && strangerError.message.contains("stranger.pem"), "\(strangerError)")

            var mismatched = good
            mismatched.keyFile = pki.serverKeyFile
            let mismatch = try await failure(endpoint, mismatched)
            #expect(mismatch.code == .tlsFailed && mismatch.message.contains("key values mismatch"), "\(mismatch)")

            var missingFile = good
            missingFile.certificateAuthorityFile = pki.directory + "/absent.pem"
            let absent = try await failure(endpoint, missingFile)
            #expect(absent.code == .tlsFailed && absent.message.contains("cannot load the CA file \(pki.directory)/absent.pem"), "\(absent)")

            // Plain http:// to an etcd that serves TLS only: said at once, not after the
            // failover time.
            let plain = HTTPEndpoint(host: endpoint.host, port: endpoint.port, usesTLS: false)
            let plainError = try await failure(plain, .none)
            #expect(plainError.code == .tlsFailed && plainError.message.contains("https://"), "\(plainError)")
        }
    }

    @Test func fulfilsTheContractOnAnEtcdWithAuthentication() async throws {
        let protection = EtcdCluster.Guard(authentication: true, tokenTTLSeconds: 1)
        try await EtcdCluster.with(members: 1, guard: protection, timeLimit: .seconds(120)) { cluster in
            let store = EtcdDatastore(endpoints: cluster.endpoints, security: cluster.security)
            let failures = try await exerciseContract(store, prefix: "/auth/")
            #expect(failures.isEmpty, "\(failures)")
            let transactionFailures = try await exerciseTransactions(store, prefix: "/auth/")
            #expect(transactionFailures.isEmpty, "\(transactionFailures)")

            // A token etcd no longer knows (expired, or never issued) is renewed.
            try await store.put("/auth/kept", string: "v")
            try await Task.sleep(for: .milliseconds(2500))
            #expect(try await store.get("/auth/kept")?.string == "v")
            // (A low index: etcd holds a request whose simple token names a raft index it has
            // not applied yet until it has.)
            store.tokens.withLock { $0[0] = "notAToken.1" }
            #expect(try await store.get("/auth/kept")?.string == "v")
            #expect(store.tokens.withLock { $0[0] } != "notAToken.1")

            let endpoint = cluster.endpoints[0]
            var wrongPassword = cluster.security
            wrongPassword.password = "wrong"
            let refused = try await failure(endpoint, wrongPassword)
            #expect(refused.code == .authenticationFailed)
            #expect(refused.message.contains("etcd user \"root\"") && refused.message.contains("authentication failed"), "\(refused)")

            let anonymous = try await failure(endpoint, .none)
            #expect(anonymous.code == .authenticationFailed && anonymous.message.contains("requires authentication"), "\(anonymous)")
        }
    }

    /// The error a read through `security` gives, within a few seconds (never a hang, never
    /// the full failover time).
    private func failure(_ endpoint: HTTPEndpoint, _ security: EtcdSecurity) async throws -> DatastoreError {
        let store = EtcdDatastore(endpoints: [endpoint], security: security, requestTimeoutMilliseconds: 2000)
        let started = ContinuousClock.now
        let error: DatastoreError? = try await withTimeout(.seconds(10), "a misconfigured read") {
            do {
                _ = try await store.get("/x")
                return nil
            } catch let error as DatastoreError {
                return error
            }
        }
        let found = try #require(error, "the read succeeded")
        #expect(ContinuousClock.now - started < .seconds(5), "took \(ContinuousClock.now - started): \(found)")
        #expect(found.endpoint?.contains(String(endpoint.port)) == true, "no endpoint named: \(found)")
        return found
    }
}
