// The router's timers: route recalculation when a burst of changes is over, and the repair of
// a view that looks incomplete afterwards.
extension MeshRouter {
    func tick() {
        timer = nil
        timerDeadline = nil
        perform(core.tick(now: .now))
        guard core.tickRecalculated else { return }
        // A pending repair looks at the view when it fires; checking now would only cost time
        // unless the repair is far off.
        if let repairDeadline, repairDeadline <= .now + Self.initialRepairDelay { return }
        guard let hint = core.currentMissingGossipHint() else { return }
        if hint != repairHint {
            // A different gap than the one being repaired: the view made progress, so the
            // repair starts over (aimed, after the initial delay) instead of waiting out a
            // delay grown on an older gap.
            repairHint = hint
            repairAttempt = 0
            repairDelay = Self.initialRepairDelay
            if let repairDeadline, repairDeadline > .now + repairDelay {
                repairTimer?.cancel()
                repairTimer = nil
            }
        }
        armRepair()
    }

    /// While the view looks incomplete after a recalculation, a repair goes out after 200 ms
    /// (aimed: the missing entries are asked for), then digests after 300, 450… ms (×1.5) up to
    /// the gossip interval; the delay resets once the view is complete or shows another gap.
    /// Nothing extra is sent while the view is complete, so a change still costs only its entries.
    private func armRepair() {
        guard running, repairTimer == nil else { return }
        let delay = repairDelay
        repairDeadline = .now + delay
        repairTimer = Task { [weak self] in
            try? await Task.sleep(for: delay)
            guard !Task.isCancelled else { return }
            await self?.repairNow()
        }
    }

    private func repairNow() {
        repairTimer = nil
        repairDeadline = nil
        let hint = core.currentMissingGossipHint()
        if hint != repairHint {
            repairHint = hint
            repairAttempt = 0
            // The view changed since the repair was armed: the gap may be an entry still on
            // its way. Only a gap that stays for a whole delay is repaired (a cold start would
            // otherwise ask for entries already in flight, every delay).
            if hint != nil {
                repairDelay = Self.initialRepairDelay
                armRepair()
                return
            }
        }
        let actions = core.repair(attempt: repairAttempt)
        guard !actions.isEmpty else {
            repairDelay = Self.initialRepairDelay
            repairAttempt = 0
            return
        }
        perform(actions)
        repairAttempt += 1
        repairDelay = min(repairDelay * 1.5, configuration.gossipInterval)
        armRepair()
    }
}
