import Foundation
import Health
import Transfer

/// Drains across a fleet: every member serves the newest mark it holds of each drain key, and
/// takes any newer mark a peer serves (applied by the runtime, kept in its state file, served in
/// turn), so a drain or undrain given to any member reaches all of them, also through a member
/// that has died since.
extension FleetExchange {
    /// Sets what applies a peer's newer marks here.
    public func onDrains(_ apply: @escaping @Sendable ([String: DrainMark]) async -> Void) {
        applyDrains = apply
    }

    /// The marks this member holds (the prober's, after a drain or a reload).
    public func setDrainMarks(_ marks: [String: DrainMark]) {
        guard marks != drainMarks else { return }
        drainMarks = marks
        observe()
    }

    /// The marks `id` serves that are newer than this member's, applied.
    func takeDrains(from id: String) async {
        guard let drains = peers[id]?.observed.drains, let applyDrains else { return }
        let newer = drains.filter { key, mark in drainMarks[key].map { mark.newer(than: $0) } ?? true }
        guard !newer.isEmpty else { return }
        for (key, mark) in newer {
            logger.notice(
                "fleet: \(key) \(mark.drained ? "drained" : "undrained") by \(mark.by.isEmpty ? "a member" : mark.by), from \(id)"
            )
        }
        await applyDrains(newer)
    }

    /// This member's id in the fleet (nil without one).
    public var selfID: String? { me?.id }
}
