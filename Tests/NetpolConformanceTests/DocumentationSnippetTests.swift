import NetpolConformance
import Testing

/// The landing page snippet of NetpolConformance.docc, with its output collected instead of
/// printed.
struct DocumentationSnippetTests {
    @Test func landingPageSnippetRuns() throws {
        var output: [String] = []
        for netpolCase in NetpolCatalogue.all {
            let probes = netpolCase.steps.filter { if case .probe = $0 { true } else { false } }.count
            let marker = netpolCase.isRepresentative ? "*" : " "
            output.append("\(marker) \(netpolCase.id): \(netpolCase.upstreamTitle) (\(netpolCase.steps.count) steps, \(probes) probes)")
        }
        output.append("representative: " + NetpolCatalogue.representative.map(\.id).joined(separator: " "))
        for (title, reason) in NetpolCatalogue.omitted { output.append("omitted: \(title): \(reason)") }

        let denyIngress = try #require(NetpolCatalogue.case(id: "default-deny-ingress"))
        for case let .probe(port, protocols, reachability) in denyIngress.steps {
            output.append("port \(port) \(protocols.map(\.rawValue).joined(separator: "+")):\n\(reachability.rendered)")
        }
        #expect(output.count == NetpolCatalogue.all.count + 1 + NetpolCatalogue.omitted.count + 1)
        #expect(output.last?.hasPrefix("port 80 tcp+udp:\n-\tx/a") == true)
        #expect(output.last?.contains("y/a\tX\tX\tX\t-\t.") == true)
    }
}
