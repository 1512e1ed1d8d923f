import CNISpec
import Testing

@Suite struct CNIArgumentsTests {
    @Test func parsesPairs() throws {
        let arguments = try CNIArguments(parsing: "K8S_POD_NAME=web;K8S_POD_NAMESPACE=default")
        #expect(arguments["K8S_POD_NAME"] == "web")
        #expect(arguments.description == "K8S_POD_NAME=web;K8S_POD_NAMESPACE=default")
        #expect(try CNIArguments(parsing: "").pairs.isEmpty)
    }

    @Test func rejectsMalformedPairs() {
        for text in ["A", "A=1=2", "A=1;", ";A=1", "A=1;;B=2"] {
            #expect(throws: CNIError.self) { try CNIArguments(parsing: text) }
        }
    }

    @Test func unknownKeysFailUnlessIgnoreUnknown() throws {
        let strict = try CNIArguments(parsing: "IP=10.1.0.9;FOO=bar")
        let error = try #require(throws: CNIError.self) { try strict.values(known: ["IP"]) }
        #expect(error.message.contains("FOO=bar"))
        for flag in ["1", "true", "TRUE"] {
            let lenient = try CNIArguments(parsing: "IgnoreUnknown=\(flag);IP=10.1.0.9;FOO=bar")
            #expect(try lenient.values(known: ["IP"]) == ["IP": "10.1.0.9"])
        }
        let notLenient = try CNIArguments(parsing: "IgnoreUnknown=0;FOO=bar")
        #expect(throws: CNIError.self) { try notLenient.values(known: []) }
    }
}
