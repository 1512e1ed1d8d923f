import Testing
@testable import Datastore

@Suite struct StoreLocationTests {
    @Test func parsesFileLocations() throws {
        #expect(try StoreLocation(parsing: "file:/var/lib/swiftcni/store") == .file(directory: "/var/lib/swiftcni/store"))
        #expect(try StoreLocation(parsing: "file:///tmp/x") == .file(directory: "/tmp/x"))
        #expect(try StoreLocation(parsing: "file:relative/dir") == .file(directory: "relative/dir"))
    }

    @Test func parsesEtcdEndpointLists() throws {
        let location = try StoreLocation(parsing: "etcd:http://127.0.0.1:2379,http://10.0.0.2:22379,http://[::1]:2379")
        #expect(location == .etcd(endpoints: [
            HTTPEndpoint(host: "127.0.0.1", port: 2379), HTTPEndpoint(host: "10.0.0.2", port: 22379),
            HTTPEndpoint(host: "::1", port: 2379),
        ]))
        #expect(location.description == "etcd:http://127.0.0.1:2379,http://10.0.0.2:22379,http://[::1]:2379")
        #expect(try StoreLocation(parsing: "etcd:localhost") == .etcd(endpoints: [HTTPEndpoint(host: "localhost", port: 2379)]))
    }

    @Test(arguments: ["", "file:", "etcd:", "etcd:http://h:99999", "etcd:http://h:port", "redis:x", "/tmp/dir", "etcd:ftp://h:1"])
    func rejectsBadLocations(_ text: String) {
        #expect(throws: DatastoreError.self) { try StoreLocation(parsing: text) }
        do { _ = try StoreLocation(parsing: text) } catch let error as DatastoreError {
            #expect(error.code == .invalidStoreURL)
        } catch { Issue.record("unexpected \(error)") }
    }

    @Test func parsesHTTPSEndpoints() throws {
        let location = try StoreLocation(parsing: "etcd:https://127.0.0.1:2379,https://[::1]:2380,http://h:1")
        #expect(location == .etcd(endpoints: [
            HTTPEndpoint(host: "127.0.0.1", port: 2379, usesTLS: true), HTTPEndpoint(host: "::1", port: 2380, usesTLS: true),
            HTTPEndpoint(host: "h", port: 1),
        ]))
        #expect(location.description == "etcd:https://127.0.0.1:2379,https://[::1]:2380,http://h:1")
    }

    @Test func securityTreatsEmptyStringsAsAbsent() {
        let security = EtcdSecurity(certificateAuthorityFile: "", certificateFile: "/c", keyFile: "", username: "")
        #expect(security == EtcdSecurity(certificateFile: "/c"))
        #expect(!security.usesAuthentication)
    }

    @Test func prefixRangeEnd() {
        #expect(Etcd.rangeEnd(forPrefix: "/tb/") == Array("/tb0".utf8))
        #expect(Etcd.rangeEnd(forPrefix: "a\u{7f}") == [UInt8(ascii: "a"), 0x80])
        #expect(Etcd.rangeEnd(forPrefix: "") == [0])
    }

    @Test func splitsJSONObjectsAcrossChunks() {
        var splitter = JSONObjectSplitter()
        #expect(splitter.append(Array("{\"result\":{\"a\":\"}{\\\"\"".utf8)).isEmpty)
        let objects = splitter.append(Array("}}\n{\"result\":{}}{\"x\"".utf8))
        #expect(objects.map { String(decoding: $0, as: UTF8.self) } == ["{\"result\":{\"a\":\"}{\\\"\"}}", "{\"result\":{}}"])
        #expect(splitter.append(Array(":1}".utf8)).map { String(decoding: $0, as: UTF8.self) } == ["{\"x\":1}"])
    }
}
