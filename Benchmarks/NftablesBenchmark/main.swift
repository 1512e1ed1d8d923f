// Measures the nftables part of the Netlink library against `nft -f` on the same change,
// inside throwaway namespaces (never the machine's own). Run by hand, as root:
//   swift run -c release --scratch-path .build-nftables NftablesBenchmark [rules] [elements]
import ArgumentParser
import ChildProcess
import Namespaces
import NetPrimitives
import Netlink
import Nftables

#if canImport(Glibc)
import Glibc
#endif

func now() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
}

func measure(_ body: () throws -> Void) rethrows -> Double {
    let start = now()
    try body()
    return now() - start
}

struct Arguments: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "NftablesBenchmark")

    @Argument(help: "Rules.") var rules = 10_000
    @Argument(help: "Set elements.") var elements = 100_000

    func validate() throws {
        guard rules >= 1, elements >= 1 else { throw ValidationError("rules and elements must be at least 1") }
    }
}

let arguments = Arguments.parseOrExit()
let ruleCount = arguments.rules
let elementCount = arguments.elements

let table = NftablesTable(family: .inet, name: "swcni_bench")
let chain = NftablesChain.base(table: table, name: "input", hook: .input)
let set = NftablesSet(table: table, name: "hosts", keyType: .ipv4Address, isInterval: true)

var rules = NftablesTransaction()
rules.add(table)
rules.add(chain)
for index in 0..<ruleCount {
    let address = IPAddress.v4(IPv4Address(UInt32(0x0A00_0000 + index)))
    rules.add(
        NftablesRule(
            in: chain, matches: [.sourceAddress(IPNetwork(host: address)), .destinationPort(.tcp, UInt16(1000 + index % 50_000))],
            statements: [.counter, .accept]))
}
var elements = NftablesTransaction()
elements.add(table)
elements.add(set)
elements.add(
    elements: (0..<elementCount).map {
        NftablesSetElement(.network(try! IPNetwork(address: .v4(IPv4Address(UInt32(0x0B00_0000 + $0 * 4))), prefixLength: 30)))
    }, to: set)

let names = (0..<2).map { "swcni-bench-nft-\(getpid())-\($0)" }
defer { names.forEach { try? NetworkNamespace.delete(name: $0) } }
let library = try NetworkNamespace.create(name: names[0])
let reference = try NetworkNamespace.create(name: names[1])
let handle = try NftablesHandle(namespace: library)

func nftFile(_ transaction: NftablesTransaction) throws {
    let output = try reference.runProcess(
        "/usr/sbin/nft", arguments: ["-f", "-"], standardInput: Array(transaction.nftScript.utf8))
    guard output.status.isSuccess else {
        throw NetlinkError(.kernelError, operation: String(decoding: output.standardError, as: UTF8.self))
    }
}
func flush() throws {
    var deletion = NftablesTransaction()
    deletion.deleteIfPresent(table)
    try handle.apply(deletion)
    _ = try reference.runProcess("/usr/sbin/nft", arguments: ["flush", "ruleset"])
}

func report(_ label: String, _ libraryTime: Double, _ nftTime: Double) {
    func ms(_ seconds: Double) -> String { String(Int((seconds * 1000).rounded())) + " ms" }
    let ratio = Int((nftTime / libraryTime * 10).rounded())
    print("\(label): library \(ms(libraryTime)), nft -f \(ms(nftTime)), nft/library \(ratio / 10).\(ratio % 10)x")
}

for round in 1...3 {
    try flush()
    let ruleLibrary = try measure { try handle.apply(rules) }
    let ruleNft = try measure { try nftFile(rules) }
    let readBack = try measure { _ = try handle.rules(in: table) }
    try flush()
    let elementLibrary = try measure { try handle.apply(elements) }
    let elementNft = try measure { try nftFile(elements) }
    let elementRead = try measure { _ = try handle.elements(of: set) }
    print("round \(round)")
    report("  \(ruleCount) rules in one batch", ruleLibrary, ruleNft)
    report("  \(elementCount) interval elements in one batch", elementLibrary, elementNft)
    print("  read back \(ruleCount) rules: \(Int(readBack * 1000)) ms; \(elementCount) elements: \(Int(elementRead * 1000)) ms")
}
try flush()
