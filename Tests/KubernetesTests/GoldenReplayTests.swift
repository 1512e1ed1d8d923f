import Foundation
import Kubernetes
import KubernetesTestServer
import Testing

/// Replays every exchange recorded from a real kube-apiserver 1.20.2 (Fixtures/golden, how in
/// its README) against the in-process fixture, in the recorded order, and compares the status
/// code and the normalised JSON answer (uids, times, resourceVersions, continue tokens →
/// placeholders; managedFields dropped). The placeholders hide version numbers, so the
/// relations that matter are asserted on the fixture's own numbers: a list's version is at
/// least each item's, a watch from version V only sends later versions, in order, a create
/// writes a newer version than anything seen before.
@Suite("Golden exchanges of kube-apiserver 1.20.2")
struct GoldenReplayTests {
    /// Exchanges the fixture does not match, by name, with why (also in fixture-diff.md).
    static let skipped: [String: String] = [
        "05-version": "the recorded server was built without version stamps (v0.0.0-master); the fixture reports its own version",
        "65-watch-nodes-rv1-410":
            "the real server writes (and the watch shows) every patch that changes only managedFields (44, 45); the fixture keeps no field managers, so those no-op patches write nothing",
    ]

    @Test func replaysEveryGoldenExchange() async throws {
        let exchanges = try GoldenExchange.all()
        #expect(exchanges.count == 74)
        try await TestCluster.with(bookmarkInterval: nil, kubelet: false) { cluster in
            var session = GoldenSession(fixture: cluster.fixture)
            var watches: [String: Task<(status: Int, body: [UInt8]), Never>] = [:]
            for exchange in exchanges {
                try await session.prepare(before: exchange)
                let target = session.target(for: exchange)
                let body = session.body(for: exchange)
                if exchange.number == 34 || exchange.number == 35 {
                    // The two watches run while 36–40 change pods (record.sh starts them in the
                    // background and waits a second).
                    let fixture = cluster.fixture
                    watches[exchange.name] = Task { await fixture.exchange(method: "GET", target: target) }
                    if exchange.number == 35 { try await Task.sleep(for: .seconds(1)) }
                    continue
                }
                let answer = await cluster.fixture.exchange(
                    method: exchange.method, target: target, contentType: exchange.contentType, body: body)
                if exchange.method != "GET" { try await session.settle(answer) }
                try session.check(exchange, answer)
                if exchange.number == 40 {
                    for name in watches.keys.sorted() {
                        let golden = exchanges.first { $0.name == name }!
                        try session.check(golden, await watches[name]!.value)
                    }
                }
            }
            #expect(session.compared + Self.skipped.count == 74, "compared \(session.compared), skipped \(Self.skipped.count)")
        }
    }
}

/// The state record.sh carries from one request to the next (tokens, versions, bodies), and
/// the comparison.
struct GoldenSession {
    let fixture: APIServerFixture
    var answers: [Int: JSONObject] = [:]
    var highestWritten: Int64 = 0
    var compared = 0

    init(fixture: APIServerFixture) { self.fixture = fixture }

    /// What record.sh does between requests: the etcd compaction before 63, the 110 label
    /// patches before 71, the restart without watch cache (whose watch reads the compacted
    /// store) before 73.
    mutating func prepare(before exchange: GoldenExchange) async throws {
        switch exchange.number {
        case 63: await fixture.compactStore()
        case 71:
            // One at a time as the fixture's watch cache sees it (settle).
            for counter in 1...110 {
                try await settle(await fixture.exchange(
                    method: "PATCH", target: "/api/v1/nodes/golden-node-1", contentType: "application/merge-patch+json",
                    body: Array(#"{"metadata":{"labels":{"counter":"\#(counter)"}}}"#.utf8)))
            }
        case 73: await fixture.compact()
        default: break
        }
    }

    /// Waits until the fixture's watch cache has seen a write: the test's FileDatastore watch
    /// skips superseded writes between its polls (etcd's does not), so back-to-back writes of
    /// one object (36 and 37, the 110 patches) would otherwise reach watches as one.
    func settle(_ answer: (status: Int, body: [UInt8])) async throws {
        guard (200..<300).contains(answer.status), let object = try? JSONValue.decodeObject(answer.body),
            let written = Int64(object[object: "metadata"]["resourceVersion"]?.stringValue ?? "")
        else { return }
        let deadline = ContinuousClock.now + .seconds(10)
        while await fixture.cachedRevision() < written, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
    }

    func version(of number: Int) -> String { answers[number]?[object: "metadata"]["resourceVersion"]?.stringValue ?? "" }

    /// The request path with the resourceVersion and continue values record.sh used.
    func target(for exchange: GoldenExchange) -> String {
        var path = exchange.path
        let version: String? = switch exchange.number {
        case 32, 41, 74: "0"
        case 34, 35: self.version(of: 33)
        case 64, 66: self.version(of: 60)
        case 65: "1"
        case 71, 72: self.version(of: 70)
        case 73: Int64(self.version(of: 72)).map { String(max($0 - 5, 1)) }
        default: nil
        }
        if let version { path = path.replacingOccurrences(of: "resourceVersion=<rv>", with: "resourceVersion=\(version)") }
        let token: String? = switch exchange.number {
        case 31: answers[30]?[object: "metadata"]["continue"]?.stringValue
        case 63: answers[60]?[object: "metadata"]["continue"]?.stringValue
        default: nil
        }
        if let token { path = path.replacingOccurrences(of: "continue=<continue>", with: "continue=\(QueryEncoding.encode([("c", token)]).dropFirst(2))") }
        return path
    }

    /// The request body: as recorded, except the updates that send back an object read
    /// earlier (06 with a stale label for 48, 49 with a fresh one for 50 and 51).
    func body(for exchange: GoldenExchange) -> [UInt8] {
        func relabel(_ number: Int, _ label: String) -> [UInt8] {
            var object = answers[number] ?? [:]
            object[object: "metadata"][object: "labels"][label] = "yes"
            return object.encodedJSON()
        }
        switch exchange.number {
        case 48: return relabel(6, "stale")
        case 50, 51: return relabel(49, "fresh")
        default: break
        }
        switch exchange.body {
        case .string(let text)?: return Array(text.utf8)
        case let value?: return value.encoded()
        case nil: return []
        }
    }

    mutating func check(_ exchange: GoldenExchange, _ answer: (status: Int, body: [UInt8])) throws {
        let skipped = GoldenReplayTests.skipped[exchange.name] != nil
        var fixtureValue: JSONValue
        var goldenValue: JSONValue
        if let events = exchange.events {
            let lines = answer.body.split(separator: UInt8(ascii: "\n")).filter { !$0.isEmpty }
            let parsed = try lines.map { try JSONValue.decode($0) }
            checkWatchVersions(exchange, parsed)
            fixtureValue = .array(parsed)
            goldenValue = .array(events)
        } else {
            let object = try JSONValue.decodeObject(answer.body)
            if (200..<300).contains(answer.status) { answers[exchange.number] = object }
            checkVersions(exchange, object, status: answer.status)
            fixtureValue = .object(object)
            goldenValue = exchange.response ?? .null
        }
        if exchange.number == 72 || exchange.number == 32 {
            // Served from the watch cache, whose list order is unspecified (Go map order).
            fixtureValue = Self.sortingItems(fixtureValue)
            goldenValue = Self.sortingItems(goldenValue)
        }
        if exchange.number == 2 || exchange.number == 3 || exchange.number == 4 {
            goldenValue = Self.servedDiscovery(goldenValue, fixture: fixtureValue)
        }
        let real = GoldenNormalizer.normalize(goldenValue)
        let ours = GoldenNormalizer.normalize(fixtureValue)
        if skipped { return }
        compared += 1
        #expect(answer.status == exchange.status, "\(exchange.name): status \(answer.status), real \(exchange.status)")
        let differences = GoldenNormalizer.differences(real, ours)
        #expect(differences.isEmpty, "\(exchange.name) \(exchange.method) \(exchange.path):\n  \(differences.joined(separator: "\n  "))")
    }

    /// A list's version covers its items; a created object is newer than anything before.
    mutating func checkVersions(_ exchange: GoldenExchange, _ object: JSONObject, status: Int) {
        let own = Int64(object[object: "metadata"]["resourceVersion"]?.stringValue ?? "") ?? 0
        if let items = object["items"]?.arrayValue {
            for item in items {
                let version = Int64(item["metadata"]?["resourceVersion"]?.stringValue ?? "") ?? 0
                #expect(version > 0 && version <= own, "\(exchange.name): item version \(version) above the list's \(own)")
            }
        }
        if exchange.method == "POST", status == 201 {
            #expect(own > highestWritten, "\(exchange.name): created at \(own), not after \(highestWritten)")
        }
        highestWritten = max(highestWritten, own)
    }

    /// A watch from version V sends only later versions, in order; a bookmark is not behind.
    func checkWatchVersions(_ exchange: GoldenExchange, _ events: [JSONValue]) {
        let from = Int64(target(for: exchange).split(separator: "&").first { $0.hasPrefix("resourceVersion=") }?.dropFirst(16) ?? "") ?? 0
        var last: Int64 = 0
        for event in events where event["type"]?.stringValue != "ERROR" {
            let version = Int64(event["object"]?["metadata"]?["resourceVersion"]?.stringValue ?? "") ?? 0
            // From "0" the synthetic ADDED events are the current state in key order.
            guard from > 0 else { continue }
            #expect(version > from, "\(exchange.name): event at \(version), watch from \(from)")
            #expect(version >= last, "\(exchange.name): event at \(version) after one at \(last)")
            last = version
        }
    }

    static func sortingItems(_ value: JSONValue) -> JSONValue {
        guard var object = value.objectValue, let items = object["items"]?.arrayValue else { return value }
        object["items"] = .array(items.sorted {
            ($0["metadata"]?["name"]?.stringValue ?? "") < ($1["metadata"]?["name"]?.stringValue ?? "")
        })
        return .object(object)
    }

    /// The real discovery documents cut to the groups, versions and resources the fixture
    /// serves (README: the fixture serves four resources).
    static func servedDiscovery(_ golden: JSONValue, fixture: JSONValue) -> JSONValue {
        guard var object = golden.objectValue else { return golden }
        if let groups = object["groups"]?.arrayValue {
            let served = Dictionary(
                uniqueKeysWithValues: (fixture["groups"]?.arrayValue ?? []).compactMap { group in
                    group["name"]?.stringValue.map { ($0, Set(group["versions"]?.arrayValue?.compactMap { $0["version"]?.stringValue } ?? [])) }
                })
            object["groups"] = .array(groups.compactMap { group in
                guard var group = group.objectValue, let name = group["name"]?.stringValue, let versions = served[name] else { return nil }
                group["versions"] = .array((group["versions"]?.arrayValue ?? []).filter { versions.contains($0["version"]?.stringValue ?? "") })
                return .object(group)
            })
        }
        return .object(object)
    }
}
