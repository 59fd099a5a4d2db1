import Health
import Testing

@testable import Prober

@Suite struct HealthViewTests {
    @Test func unknownAndUnseenIdsCountAsUp() {
        let view = HealthView(states: [
            HealthState.unknown.rawValue, HealthState.up.rawValue, HealthState.down.rawValue,
        ])
        #expect(view.isUp(0))
        #expect(view.isUp(1))
        #expect(!view.isUp(2))
        #expect(view.isUp(3))
        #expect(view.isUp(-1))
        #expect(HealthView.empty.isUp(0))
        #expect(view.state(2) == .down && view.state(9) == .unknown)
    }

    @Test func drainIsItsOwnBit() {
        let view = HealthView(states: [HealthState.down.rawValue | HealthView.drainedBit, HealthState.up.rawValue])
        #expect(view.isDrained(0) && !view.isUp(0) && view.state(0) == .down)
        #expect(!view.isDrained(1) && view.isUp(1))
        #expect(!view.isDrained(7))
    }

    @Test func growingWithUnknownTargetsMeansNothingNew() {
        let a = HealthView(states: [1, 2])
        #expect(a.sameMeaning(as: HealthView(states: [1, 2, 0, 0])))
        #expect(!a.sameMeaning(as: HealthView(states: [1, 2, 1])))
        #expect(!a.sameMeaning(as: HealthView(states: [1, 1])))
    }
}

@Suite struct TargetKeyTests {
    func check(_ type: CheckFields.Kind, _ edit: (inout CheckFields) -> Void = { _ in }) -> Check {
        var c = CheckFields()
        c.type = type
        edit(&c)
        return c.check
    }

    @Test func addressesAreCanonical() {
        #expect(TargetKey(address: "0:0:0::1", check: check(.tcp)).address == "::1")
        #expect(TargetKey(address: "2001:DB8:0::A", check: check(.tcp)).address == "2001:db8::a")
        #expect(
            TargetKey(address: "127.0.0.1", check: check(.tcp)) == TargetKey(address: "127.0.0.1", check: check(.tcp)))
        #expect(TargetKey(address: "::1", check: check(.tcp)) == TargetKey(address: "0::1", check: check(.tcp)))
    }

    @Test func fingerprintsSayWhatIsProbed() {
        let http = check(.http) {
            $0.port = 8080
            $0.path = "/healthz"
            $0.host = "www.example.com"
            $0.body = "ok"
        }
        #expect(http.fingerprint == #"http:8080/healthz host=www.example.com expect=200 body="ok""#)
        #expect(
            check(.https) {
                $0.port = 443; $0.insecure = true; $0.expect = [200, 204]
            }.fingerprint
                == "https:443/ expect=200,204 insecure")
        #expect(check(.tcp) { $0.port = 22 }.fingerprint == "tcp:22")
        #expect(
            check(.dns) {
                $0.port = 53; $0.rcodes = [0, 3]
            }.fingerprint == "dns:53 . A rcodes=0,3")
        #expect(
            check(.exec) { $0.command = ["/bin/sh", "-c", "test -e /tmp/up"] }.fingerprint
                == "exec:80 /bin/sh -c 'test -e /tmp/up'")
        #expect(check(.none).fingerprint == "none")
    }

    @Test func timingIsNotPartOfTheFingerprint() {
        let a = check(.tcp)
        let b = check(.tcp) {
            $0.interval = .seconds(1); $0.fall = 5
        }
        #expect(a.fingerprint == b.fingerprint)
        #expect(TargetKey(address: "127.0.0.1", check: a) != TargetKey(address: "127.0.0.1", check: b))
    }

    @Test func durationsReadLikeTheConfig() {
        #expect(DurationText.format(.milliseconds(500)) == "500ms")
        #expect(DurationText.format(.seconds(2)) == "2s")
        #expect(DurationText.format(.milliseconds(12_500)) == "12.5s")
        #expect(DurationText.format(.microseconds(350)) == "350µs")
        #expect(DurationText.format(.zero) == "0s")
    }
}
