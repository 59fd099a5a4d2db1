import Health

/// A check written field by field, as the config writes one, for tests that vary one field at a
/// time; `check` is the `Check` the prober takes.
struct CheckFields {
    enum Kind { case tcp, http, https, dns, exec, none }
    var type = Kind.tcp
    var port = 80
    var path = "/"
    var host: String? = nil
    var expect = [200]
    var body: String? = nil
    var insecure = false
    var query: String? = nil
    var qtype = "A"
    var rcodes = [0]
    var command: [String] = []
    var interval: Duration = .seconds(5)
    var timeout: Duration = .seconds(2)
    var rise = 2
    var fall = 3

    var check: Check {
        let http = HTTPProbe(path: path, host: host, expect: expect, body: body)
        let kind: Check.Kind =
            switch type {
            case .tcp: .tcp
            case .http: .http(http)
            case .https: .https(http, insecure: insecure)
            case .dns: .dns(DNSProbe(query: query, qtype: qtype, rcodes: rcodes))
            case .exec: .exec(command: command)
            case .none: .none
            }
        return Check(
            kind: kind, port: port, timing: Timing(interval: interval, timeout: timeout, rise: rise, fall: fall))
    }
}
