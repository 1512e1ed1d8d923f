import Testing
@testable import Mesh

@Suite struct ShortIDTests {
    @Test func preferredIsStableAndInRange() {
        for index in 0..<1000 {
            let name = MeshSimulation.name(index)
            #expect(ShortID.preferred(for: name) == ShortID.preferred(for: name))
            #expect(Int(ShortID.preferred(for: name).rawValue) < ShortID.count)
        }
        #expect(ShortID(rawValue: 4096) == nil)
        #expect(ShortID(rawValue: 4095) != nil)
    }

    @Test func freeAvoidsUsedAndReportsExhaustion() {
        let name = MeshSimulation.name(1)
        var used = Set((0..<4095).map { ShortID(rawValue: UInt16($0))! })
        #expect(ShortID.free(for: name, avoiding: used) == ShortID(rawValue: 4095))
        used.insert(ShortID(rawValue: 4095)!)
        #expect(ShortID.free(for: name, avoiding: used) == nil)
    }
}

@Suite struct RecalculationCoalescerTests {
    @Test func burstYieldsOneRecalculation() {
        let t0 = ContinuousClock.now
        var coalescer = RecalculationCoalescer<ContinuousClock.Instant>(quietPeriod: .milliseconds(50), maximumDelay: .milliseconds(500))
        #expect(coalescer.deadline == nil)
        var fired = coalescer.shouldRecalculate(at: t0)
        #expect(!fired)
        for step in 0..<10 { coalescer.noteChange(at: t0 + .milliseconds(step * 10)) }
        #expect(coalescer.deadline == t0 + .milliseconds(140))
        fired = coalescer.shouldRecalculate(at: t0 + .milliseconds(139))
        #expect(!fired)
        fired = coalescer.shouldRecalculate(at: t0 + .milliseconds(140))
        #expect(fired)
        fired = coalescer.shouldRecalculate(at: t0 + .milliseconds(400))
        #expect(!fired)
        #expect(coalescer.deadline == nil)
    }

    @Test func steadyStreamStillRecalculatesAtTheMaximumDelay() {
        let t0 = ContinuousClock.now
        var coalescer = RecalculationCoalescer<ContinuousClock.Instant>(quietPeriod: .milliseconds(50), maximumDelay: .milliseconds(200))
        var fired: [Int] = []
        for ms in stride(from: 0, through: 1000, by: 10) {
            let now = t0 + .milliseconds(ms)
            if coalescer.shouldRecalculate(at: now) { fired.append(ms) }
            coalescer.noteChange(at: now)
        }
        #expect(fired == [200, 400, 600, 800, 1000])
    }
}
