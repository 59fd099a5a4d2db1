/// The zones the responder tests ask about, as zone-file text.
enum Zones {
    static let exampleCom = (
        "example.com.",
        """
        $TTL 3600
        @        3600 IN SOA ns1.example.com. hostmaster.example.com. 2024010101 7200 900 1209600 300
        @             IN NS  ns1
        @             IN NS  ns2
        @             IN MX  10 mail
        @             IN MX  20 mail2
        ns1           IN A   192.0.2.53
        ns2           IN A   192.0.2.54
        mail          IN A   192.0.2.25
        mail2         IN A   192.0.2.26
        www        30 IN A   192.0.2.1
        www        30 IN A   192.0.2.2
        www        30 IN A   192.0.2.3
        www        30 IN A   192.0.2.4
        www           IN AAAA 2001:db8::1
        txt           IN TXT "hello" "world"
        a.b.c         IN A   192.0.2.10
        alias         IN CNAME www
        chain1        IN CNAME chain2
        chain2        IN CNAME www
        loop1         IN CNAME loop2
        loop2         IN CNAME loop1
        self          IN CNAME self
        out           IN CNAME www.elsewhere.net.
        cross         IN CNAME www.example.org.
        dangling      IN CNAME nothing
        tochild       IN CNAME www.child
        tosub         IN CNAME host.sub
        *.wild        IN CNAME www
        sub           IN NS  ns1.sub
        sub           IN NS  ns.elsewhere.net.
        ns1.sub       IN A   192.0.2.200
        ns1.sub       IN AAAA 2001:db8::200
        child         IN NS  ns1.child
        child         IN DS  12345 8 2 49FD46E6C4B45C55D4AC69CBD3CD34AC1AFE51DE9A4EE8D0D0A6F2C5C2D5A2B3
        ns1.child     IN A   192.0.2.201
        nods          IN NS  ns1.nods
        ns1.nods      IN A   192.0.2.202

        """ + (1...30).map { "big IN A 198.51.100.\($0)\n" }.joined()
            + (1...20).map { "medium IN A 198.51.100.\($0)\n" }.joined()
            + (1...100).map { "huge IN A 203.0.113.\($0)\n" }.joined()
            + (1...13).map {
                "fat IN NS ns\($0).fat\nns\($0).fat IN A 192.0.2.\($0)\nns\($0).fat IN AAAA 2001:db8::\($0)\n"
            }.joined()
    )

    /// Served beside its parent, so DS at the cut comes from the parent (RFC 4035 §3.1.4.1).
    static let childExampleCom = (
        "child.example.com.",
        """
        $TTL 3600
        @    IN SOA ns1.child.example.com. hostmaster.child.example.com. 1 7200 900 1209600 600
        @    IN NS  ns1
        ns1  IN A   192.0.2.201
        www  IN A   192.0.2.210

        """
    )

    /// Same name, but the parent has no DS for it.
    static let nodsExampleCom = (
        "nods.example.com.",
        """
        @    IN SOA ns1.nods.example.com. hostmaster.nods.example.com. 1 7200 900 1209600 600
        @    IN NS  ns1
        ns1  IN A   192.0.2.202

        """
    )

    /// SOA TTL below MINIMUM: negative answers take the TTL (RFC 2308 §3).
    static let exampleOrg = (
        "example.org.",
        """
        @    60 IN SOA ns1.example.org. hostmaster.example.org. 7 7200 900 1209600 300
        @    60 IN NS  ns1
        ns1  60 IN A   192.0.2.80
        www  60 IN A   192.0.2.81

        """
    )

    /// The zone of RFC 4592 §2.2.1, with SRV and SOA data filled in.
    static let rfc4592 = (
        "example.",
        """
        $ORIGIN example.
        example.                 3600 IN  SOA   ns.example.com. hostmaster.example.com. 1 7200 900 1209600 300
        example.                 3600     NS    ns.example.com.
        example.                 3600     NS    ns.example.net.
        *.example.               3600     TXT   "this is a wildcard"
        *.example.               3600     MX    10 host1.example.
        sub.*.example.           3600     TXT   "this is not a wildcard"
        host1.example.           3600     A     192.0.2.1
        _ssh._tcp.host1.example. 3600     SRV   0 0 22 host1.example.
        _ssh._tcp.host2.example. 3600     SRV   0 0 22 host2.example.
        subdel.example.          3600     NS    ns.example.com.
        subdel.example.          3600     NS    ns.example.net.

        """
    )

    static var all: [(String, String)] { [exampleCom, childExampleCom, nodsExampleCom, exampleOrg] }
}
