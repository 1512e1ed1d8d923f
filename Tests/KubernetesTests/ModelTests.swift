import Kubernetes
import Testing

@Suite("Kubernetes models and codecs")
struct ModelTests {
    @Test func unknownFieldsSurviveARoundTrip() throws {
        let text = #"{"apiVersion":"v1","kind":"Node","metadata":{"name":"n1","labels":{"a":"b"},"futureField":{"x":[1,2.5,true,null]}},"spec":{"podCIDR":"10.244.1.0/24","newSpecField":"kept"},"status":{"addresses":[{"type":"InternalIP","address":"10.0.0.1"}],"conditions":[{"type":"Ready","status":"True"}]}}"#
        var node = try Node(jsonBytes: Array(text.utf8))
        #expect(node.name == "n1")
        #expect(node.podCIDR == "10.244.1.0/24")
        #expect(node.internalIP == "10.0.0.1")
        #expect(node.condition("Ready")?.status == "True")
        node.labels["c"] = "d"
        node.setCondition(Condition(type: "NetworkUnavailable", status: "False", reason: "FlannelIsUp"))
        let again = try Node(jsonBytes: node.encoded())
        #expect(again.json["spec"]?["newSpecField"] == "kept")
        #expect(again.json["metadata"]?["futureField"]?["x"] == [1, .number(2.5), true, nil])
        #expect(again.labels == ["a": "b", "c": "d"])
        #expect(again.conditions.map(\.type) == ["Ready", "NetworkUnavailable"])
    }

    @Test func podAccessors() throws {
        let pod = try Pod(jsonBytes: Array(#"{"metadata":{"name":"p","namespace":"ns"},"spec":{"nodeName":"n1","containers":[{"name":"c","ports":[{"name":"http","containerPort":8080}]}]},"status":{"podIPs":[{"ip":"10.0.0.5"},{"ip":"fd00::5"}]}}"#.utf8))
        #expect(pod.key.description == "ns/p")
        #expect(pod.nodeName == "n1")
        #expect(pod.hostNetwork == false)
        #expect(pod.podIPs == ["10.0.0.5", "fd00::5"])
        #expect(pod.namedPorts["http"]?.port == 8080)
        #expect(pod.namedPorts["http"]?.protocol == "TCP")
    }

    @Test func mergePatchFollowsRFC7386() {
        let target: JSONValue = ["a": "b", "c": ["d": "e", "f": "g"], "list": [1, 2]]
        let patch: JSONValue = ["a": "z", "c": ["f": nil], "list": [3]]
        #expect(JSONMergePatch.apply(patch, to: target) == ["a": "z", "c": ["d": "e"], "list": [3]])
    }

    @Test func strategicMergePatchMergesKeyedLists() {
        let target: JSONValue = [
            "metadata": ["labels": ["a": "1"], "finalizers": ["x"]],
            "status": ["conditions": [["type": "Ready", "status": "True"], ["type": "NetworkUnavailable", "status": "True"]]],
        ]
        let patch: JSONValue = [
            "metadata": ["labels": ["b": "2", "a": nil], "finalizers": ["y"]],
            "status": ["conditions": [["type": "NetworkUnavailable", "status": "False", "reason": "RouteCreated"]]],
        ]
        let result = StrategicMergePatch.apply(patch, to: target)
        #expect(result["metadata"]?["labels"] == ["b": "2"])
        #expect(result["metadata"]?["finalizers"] == ["x", "y"])
        #expect(result["status"]?["conditions"] == [
            ["type": "Ready", "status": "True"], ["type": "NetworkUnavailable", "status": "False", "reason": "RouteCreated"],
        ])
        let deleted = StrategicMergePatch.apply(
            ["status": ["conditions": [["type": "Ready", "$patch": "delete"]]]], to: target)
        #expect(deleted["status"]?["conditions"] == [["type": "NetworkUnavailable", "status": "True"]])
        #expect(StrategicMergePatch.apply(["metadata": ["$patch": "replace", "name": "n"]], to: target)["metadata"] == ["name": "n"])
    }

    @Test func labelSelectors() throws {
        let labels = ["app": "web", "tier": "front", "env": "prod"]
        #expect(try LabelSelector("app=web,tier!=db").matches(labels))
        #expect(try LabelSelector("env in (prod, staging),!legacy").matches(labels))
        #expect(try !LabelSelector("env notin (prod)").matches(labels))
        #expect(try LabelSelector("app").matches(labels))
        #expect(try !LabelSelector("app==api").matches(labels))
        #expect(try LabelSelector("").matches([:]))
        #expect(throws: KubernetesError.self) { try LabelSelector("a b c") }
    }

    @Test func statusErrorsMapToCodes() {
        func error(_ code: Int, _ reason: String, _ message: String = "m") -> KubernetesError {
            let status = Status(code: code, reason: reason, message: message)
            return KubernetesError.fromResponse(httpStatus: code, body: JSONValue.object(status.json).encoded(), retryAfter: nil, server: "s")
        }
        #expect(error(410, "Expired").code == .expired)
        #expect(error(410, "Expired").requiresRelist)
        #expect(error(409, "Conflict").code == .conflict)
        #expect(error(409, "AlreadyExists").code == .alreadyExists)
        #expect(error(404, "NotFound", "pods \"x\" not found").message == "pods \"x\" not found")
        #expect(error(422, "Invalid").code == .invalid)
        #expect(error(401, "Unauthorized").code == .unauthorized)
        #expect(error(403, "Forbidden").code == .forbidden)
        #expect(error(413, "RequestEntityTooLarge").code == .requestTooLarge)
        #expect(error(504, "Timeout", "Too large resource version: 9, current: 3").code == .tooLargeResourceVersion)
        let throttled = KubernetesError.fromResponse(
            httpStatus: 429, body: JSONValue.object(Status(code: 429, reason: "TooManyRequests", message: "slow down").json).encoded(),
            retryAfter: 7, server: "s")
        #expect(throttled.code == .tooManyRequests)
        #expect(throttled.retryAfterSeconds == 7)
        let plain = KubernetesError.fromResponse(httpStatus: 500, body: Array("oops".utf8), retryAfter: nil, server: "s")
        #expect(plain.code == .serverError && plain.message == "oops")
    }

    @Test func watchEventsDecode() throws {
        let bookmark = try WatchEvent<Pod>(json: try JSONValue.decodeObject(Array(#"{"type":"BOOKMARK","object":{"kind":"Pod","metadata":{"resourceVersion":"42"}}}"#.utf8)), server: nil)
        #expect(bookmark.resourceVersion == "42")
        #expect(throws: KubernetesError.self) {
            try WatchEvent<Pod>(json: try JSONValue.decodeObject(Array(#"{"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Expired","message":"too old resource version: 1 (5)"}}"#.utf8)), server: nil)
        }
        do {
            _ = try WatchEvent<Pod>(json: try JSONValue.decodeObject(Array(#"{"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Expired","message":"too old"}}"#.utf8)), server: nil)
        } catch let error as KubernetesError {
            #expect(error.code == .expired)
        }
    }

    @Test func informerStoreReplaceComputesDeletions() {
        var store = InformerStore<Namespace>()
        func namespace(_ name: String, _ version: String) -> Namespace {
            var object = Namespace(name: name)
            object.metadata.resourceVersion = version
            return object
        }
        _ = store.replace(with: [namespace("a", "1"), namespace("b", "2"), namespace("c", "3")])
        let events = store.replace(with: [namespace("a", "1"), namespace("c", "9"), namespace("d", "10")])
        let summary = events.map { event -> String in
            switch event {
            case .added(let object): "+\(object.name)"
            case .updated(_, let object): "~\(object.name)"
            case .deleted(let object): "-\(object.name)"
            }
        }
        #expect(summary == ["~c", "+d", "-b"])
        #expect(store.count == 3)
    }

    @Test func serverAddressesParse() throws {
        let configuration = try ClientConfiguration(server: "https://[::1]:6443")
        #expect(configuration.host == "::1" && configuration.port == 6443)
        #expect(configuration.server == "https://[::1]:6443")
        #expect(try ClientConfiguration(server: "http://127.0.0.1").port == 80)
        #expect(throws: KubernetesError.self) { try ClientConfiguration(server: "127.0.0.1:6443") }
        #expect(throws: KubernetesError.self) { try ClientConfiguration(server: "https://h:99999") }
    }
}
