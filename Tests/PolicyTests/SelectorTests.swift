import Testing
@testable import Policy

@Suite struct CalicoSelectorTests {
    static let labels = ["app": "web", "tier": "front", "k8s.io/role-x": "a b"]

    static let cases: [(String, Bool)] = [
        ("", true),
        ("all()", true),
        ("app == 'web'", true),
        ("app == \"web\"", true),
        ("app == 'db'", false),
        ("app != 'db'", true),
        ("missing != 'x'", true),
        ("has(app)", true),
        ("!has(app)", false),
        ("! has(missing)", true),
        ("app in {'db', 'web'}", true),
        ("app in {}", false),
        ("app not in {'db', 'web'}", false),
        ("missing not in {'x'}", true),
        ("missing in {'x'}", false),
        ("app == 'web' && tier == 'back'", false),
        ("app == 'web' || tier == 'back'", true),
        ("app == 'db' || tier == 'back' && has(app)", false),
        ("(app == 'db' || tier == 'front') && has(app)", true),
        ("!(app == 'db')", true),
        ("!!has(app)", true),
        ("k8s.io/role-x == 'a b'", true),
        ("has(app)&&has(tier)", true),
        ("  ( ( has(app) ) )  ", true),
        ("innocent == 'x' || instance in {'y'}", false),
    ]

    @Test(arguments: cases)
    func evaluates(_ text: String, _ expected: Bool) throws {
        let selector = try CalicoSelector(parsing: text)
        #expect(selector.matches(Self.labels) == expected)
        // The canonical description parses back to the same selector.
        #expect(try CalicoSelector(parsing: selector.description) == selector)
    }

    @Test func precedenceAndIsTighterThanOr() throws {
        #expect(try CalicoSelector(parsing: "a == '1' || b == '2' && c == '3'")
            == .or(.equal(key: "a", value: "1"), .and(.equal(key: "b", value: "2"), .equal(key: "c", value: "3"))))
    }

    static let bad = [
        "app ==", "app == 'web", "has(app", "(app == 'x'", "app === 'b'", "app in {'x'", "app in {'x' 'y'}",
        "&& app == 'x'", "app contains 'x'", "!", "app == web", "app", "app == 'x' &&", "app == 'x')", "has()",
        "app not {'x'}", "app starts with 'x'", "all(", "global()",
    ]

    @Test(arguments: bad)
    func rejectsBadInput(_ text: String) {
        let error = #expect(throws: PolicyError.self) { try CalicoSelector(parsing: text) }
        #expect(error?.code == .invalidSelector)
        #expect(error?.message.contains("at offset") == true)
    }

    @Test func kubernetesSelectorOperators() {
        let selector = LabelSelector(matchLabels: ["app": "web"], matchExpressions: [
            .init(key: "tier", operator: .in, values: ["front", "edge"]),
            .init(key: "env", operator: .notIn, values: ["prod"]),
            .init(key: "team", operator: .exists),
            .init(key: "legacy", operator: .doesNotExist),
        ])
        #expect(selector.matches(["app": "web", "tier": "edge", "team": "t"]))
        #expect(selector.matches(["app": "web", "tier": "edge", "team": "t", "env": "dev"]))
        #expect(!selector.matches(["app": "web", "tier": "edge", "team": "t", "env": "prod"]))
        #expect(!selector.matches(["app": "web", "tier": "back", "team": "t"]))
        #expect(!selector.matches(["app": "web", "tier": "edge"]))
        #expect(!selector.matches(["app": "web", "tier": "edge", "team": "t", "legacy": ""]))
        #expect(!selector.matches(["app": "db", "tier": "edge", "team": "t"]))
        #expect(LabelSelector.everything.matches([:]))
        #expect(selector.description == "app=web,!legacy,env notin (prod),team,tier in (edge,front)")
    }
}
