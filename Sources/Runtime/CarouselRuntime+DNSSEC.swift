import DNSSEC
import DNSWire
import DNSZone
import Foundation
import Responder

/// Signed zones in a rebuild: each `dnssec:` zone gets the DNSKEY RRset of its keys published now
/// and a `ZoneSigning` of the keys active now; the snapshot is rebuilt at the next key event (a
/// rollover step from the keys' timing metadata) and when a key file changes. Keys that fail to
/// load keep the last good ones (logged as `file:line: message`).
extension CarouselRuntime {
    func signedZones(_ zones: [Zone]) -> ([Zone], [DNSName: ZoneSigning]) {
        guard !config.dnssec.isEmpty else {
            zoneKeys = [:]
            nextKeyEvent = nil
            keyFiles = [:]
            return (zones, [:])
        }
        // Before reading them: an edit while they are read is seen by the next poll.
        keyFiles = keyFileSignatures()
        let now = Int64(Date().timeIntervalSince1970)
        var out = zones
        var signing: [DNSName: ZoneSigning] = [:]
        var next: Int64?
        var kept: [DNSName: ZoneKeys] = [:]
        for d in config.dnssec {
            let keys: ZoneKeys
            switch ZoneKeys.load(d) {
            case .success(let k):
                keys = k
                lastKeyErrors[d.zone] = nil
            case .failure(let problems):
                let errors = problems.errors.map(\.description)
                let fresh = errors != lastKeyErrors[d.zone]
                if fresh { for e in errors { logger.error("\(e)") } }
                lastKeyErrors[d.zone] = errors
                // A key file caught while it was written (dnssec-keygen writes a .private twice)
                // may end with the size and the timestamps it had when we looked (the kernel's
                // clock for them is coarse), so that no later poll sees it change: read the keys
                // again at every poll for 5 s after files that fail are first seen.
                if failedKeyFiles != keyFiles {
                    failedKeyFiles = keyFiles
                    retryKeysUntil = .now + .seconds(5)
                }
                guard let last = zoneKeys[d.zone], last.config == d else {
                    if fresh { logger.error("dnssec: \(d.zone) has no keys that load; it is served unsigned") }
                    continue
                }
                if fresh { logger.warning("dnssec: \(d.zone): keeping the keys last loaded") }
                keys = last
            }
            kept[d.zone] = keys
            if let e = keys.nextEvent(after: now) { next = min(next ?? e, e) }
            guard let i = out.firstIndex(where: { $0.origin == d.zone }) else { continue }
            guard let s = keys.signing(at: now) else {
                logger.error("dnssec: no key of \(d.zone) is active now; it is served unsigned")
                continue
            }
            do {
                out[i] = try keys.zone(out[i], at: now)
                signing[d.zone] = s
            } catch {
                logger.error("\(error)")
            }
        }
        zoneKeys = kept
        nextKeyEvent = next
        return (out, signing)
    }

    /// True when a key event is due, or a key file of a signed zone was added, removed or edited
    /// since the last rebuild read them.
    func keysChanged() -> Bool {
        if let t = nextKeyEvent, Int64(Date().timeIntervalSince1970) >= t { return true }
        if let until = retryKeysUntil {
            if ContinuousClock.now < until { return true }
            retryKeysUntil = nil
        }
        guard !config.dnssec.isEmpty || !keyFiles.isEmpty else { return false }
        return keyFileSignatures() != keyFiles
    }

    /// The inode, size, mtime and ctime of every key file of the signed zones (ctime: a chmod of
    /// a `.private` changes whether it loads).
    func keyFileSignatures() -> [String: [Int64]] {
        var now: [String: [Int64]] = [:]
        for d in config.dnssec {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: d.keys)) ?? []
            where name.hasSuffix(".key") || name.hasSuffix(".private") {
                let path = d.keys + "/" + name
                var st = stat()
                guard stat(path, &st) == 0 else { continue }
                now[path] = [
                    Int64(st.st_ino), Int64(st.st_size), Int64(st.st_mtim.tv_sec), Int64(st.st_mtim.tv_nsec),
                    Int64(st.st_ctim.tv_sec), Int64(st.st_ctim.tv_nsec),
                ]
            }
        }
        return now
    }
}
