import CLDNS
import DNSWire
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Cross-checks with libldns: what ResponseWriter writes, libldns reads back record for
/// record; what libldns writes (with its own compression), Query.decode and Message.decode read.
/// All C memory is freed before each helper returns.
enum LDNS {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// A record parsed from zone-file text by libldns, as a ResourceRecord (rdata from
    /// `ldns_rr_rdata2buffer_wire`, so names in it are libldns's uncompressed wire).
    static func record(_ text: String) throws -> ResourceRecord {
        var rr: UnsafeMutablePointer<ldns_rr>?
        let status = ldns_rr_new_frm_str(&rr, text, 3600, nil, nil)
        guard status == LDNS_STATUS_OK, let rr else {
            throw Failure(description: "ldns cannot parse \(text): \(String(cString: ldns_get_errorstr_by_id(status)))")
        }
        defer { ldns_rr_free(rr) }
        return convert(rr)
    }

    static func convert(_ rr: UnsafeMutablePointer<ldns_rr>) -> ResourceRecord {
        let owner = ldns_rr_owner(rr)!
        let ownerWire = Array(UnsafeBufferPointer(start: ldns_rdf_data(owner), count: ldns_rdf_size(owner)))
        let buffer = ldns_buffer_new(512)!
        defer { ldns_buffer_free(buffer) }
        _ = ldns_rr_rdata2buffer_wire(buffer, rr)
        let rdata = Array(UnsafeBufferPointer(start: ldns_buffer_begin(buffer), count: ldns_buffer_position(buffer)))
        return ResourceRecord(
            name: DNSName(trustedWire: ownerWire), type: RRType(UInt16(ldns_rr_get_type(rr).rawValue)),
            rrClass: DNSClass(rawValue: UInt16(ldns_rr_get_class(rr).rawValue)), ttl: ldns_rr_ttl(rr), rdata: rdata)
    }

    static func records(_ list: UnsafeMutablePointer<ldns_rr_list>?) -> [ResourceRecord] {
        guard let list else { return [] }
        return (0..<ldns_rr_list_rr_count(list)).map { convert(ldns_rr_list_rr(list, $0)) }
    }

    /// What libldns makes of a wire message.
    struct Parsed {
        var id: UInt16
        var qr, aa, tc, rd, ra: Bool
        var rcode: UInt8
        var question: [(name: [UInt8], type: UInt16, qclass: UInt16)]
        var answer, authority, additional: [ResourceRecord]
        var ednsUDPSize: UInt16
        var ednsDO: Bool
        var ednsExtendedRCode: UInt8
        var ednsVersion: UInt8
        var ednsData: [UInt8]
    }

    static func parse(_ bytes: [UInt8]) throws -> Parsed {
        var pkt: UnsafeMutablePointer<ldns_pkt>?
        let status = bytes.withUnsafeBufferPointer { ldns_wire2pkt(&pkt, $0.baseAddress, $0.count) }
        guard status == LDNS_STATUS_OK, let pkt else {
            throw Failure(description: "ldns_wire2pkt: \(String(cString: ldns_get_errorstr_by_id(status)))")
        }
        defer { ldns_pkt_free(pkt) }
        let question = records(ldns_pkt_question(pkt)).map { ($0.name.wire, $0.type.rawValue, $0.rrClass.rawValue) }
        var ednsData: [UInt8] = []
        if let d = ldns_pkt_edns_data(pkt) {
            ednsData = Array(UnsafeBufferPointer(start: ldns_rdf_data(d), count: ldns_rdf_size(d)))
        }
        return Parsed(
            id: ldns_pkt_id(pkt), qr: ldns_pkt_qr(pkt) != 0, aa: ldns_pkt_aa(pkt) != 0, tc: ldns_pkt_tc(pkt) != 0,
            rd: ldns_pkt_rd(pkt) != 0, ra: ldns_pkt_ra(pkt) != 0, rcode: UInt8(ldns_pkt_get_rcode(pkt).rawValue),
            question: question,
            answer: records(ldns_pkt_answer(pkt)), authority: records(ldns_pkt_authority(pkt)),
            additional: records(ldns_pkt_additional(pkt)), ednsUDPSize: ldns_pkt_edns_udp_size(pkt),
            ednsDO: ldns_pkt_edns_do(pkt) != 0, ednsExtendedRCode: ldns_pkt_edns_extended_rcode(pkt),
            ednsVersion: ldns_pkt_edns_version(pkt), ednsData: ednsData)
    }

    /// A message built by libldns: a query for `qname`/`qtype`, optionally turned into a response
    /// carrying records given as zone-file text, written with `ldns_pkt2wire` (which compresses).
    static func message(
        id: UInt16, qname: String, qtype: UInt16, flags: UInt16 = UInt16(LDNS_RD), response: Bool = false,
        answer: [String] = [], authority: [String] = [], additional: [String] = [],
        ednsPayload: UInt16 = 0, dnssecOK: Bool = false, ednsData: [UInt8] = []
    ) throws -> [UInt8] {
        guard let dname = ldns_dname_new_frm_str(qname),
            let pkt = ldns_pkt_query_new(dname, ldns_rr_type(rawValue: UInt32(qtype)), LDNS_RR_CLASS_IN, flags)
        else { throw Failure(description: "ldns_pkt_query_new failed for \(qname)") }
        defer { ldns_pkt_free(pkt) }
        ldns_pkt_set_id(pkt, id)
        if response {
            ldns_pkt_set_qr(pkt, 1)
            ldns_pkt_set_aa(pkt, 1)
        }
        for (section, texts) in [
            (LDNS_SECTION_ANSWER, answer), (LDNS_SECTION_AUTHORITY, authority),
            (LDNS_SECTION_ADDITIONAL, additional),
        ] {
            for text in texts {
                var rr: UnsafeMutablePointer<ldns_rr>?
                guard ldns_rr_new_frm_str(&rr, text, 3600, nil, nil) == LDNS_STATUS_OK, let rr else {
                    throw Failure(description: "ldns cannot parse \(text)")
                }
                _ = ldns_pkt_push_rr(pkt, section, rr)  // the packet owns it now
            }
        }
        if ednsPayload > 0 {
            ldns_pkt_set_edns_udp_size(pkt, ednsPayload)
            ldns_pkt_set_edns_do(pkt, dnssecOK ? 1 : 0)
            if !ednsData.isEmpty {
                let rdf = ednsData.withUnsafeBufferPointer {
                    ldns_rdf_new_frm_data(LDNS_RDF_TYPE_UNKNOWN, $0.count, $0.baseAddress)
                }
                ldns_pkt_set_edns_data(pkt, rdf)  // freed with the packet
            }
        }
        var wire: UnsafeMutablePointer<UInt8>?
        var size = 0
        guard ldns_pkt2wire(&wire, pkt, &size) == LDNS_STATUS_OK, let wire else {
            throw Failure(description: "ldns_pkt2wire failed")
        }
        defer { free(wire) }
        return Array(UnsafeBufferPointer(start: wire, count: size))
    }
}

@Suite("libldns cross-check")
struct LDNSCrossCheckTests {
    /// Records of many types, as zone-file text; libldns turns each into wire rdata.
    static let answerTexts = [
        "www.example.com. 300 IN CNAME web.Example.COM.",
        "web.example.com. 60 IN A 192.0.2.1",
        "web.example.com. 60 IN AAAA 2001:db8::1",
        "example.com. 300 IN MX 10 mail.example.com.",
        "example.com. 300 IN MX 20 mx.other.net.",
        "example.com. 300 IN TXT \"v=spf1 -all\" \"second string\"",
        "_sip._tcp.example.com. 300 IN SRV 10 60 5060 sip.example.com.",
        "1.2.0.192.in-addr.arpa. 300 IN PTR web.example.com.",
        "example.com. 300 IN CAA 0 issue \"letsencrypt.org\"",
        "example.com. 300 IN HINFO \"PC\" \"Linux\"",
        "example.com. 300 IN RP admin.example.com. txt.example.com.",
        "example.com. 300 IN AFSDB 1 afs.example.com.",
        "example.com. 300 IN MINFO rmail.example.com. email.example.com.",
        "example.com. 300 IN NAPTR 100 10 \"S\" \"SIP+D2U\" \"\" _sip._udp.example.com.",
        "example.com. 300 IN SSHFP 1 1 dd465c09cfa51fb45020cc83316fff21b9ec74ac",
        "example.com. 300 IN DS 12345 8 2 49FD46E6C4B45C55D4AC69CBD3CD34AC1AFE51DE9A4EE8D0D0A6F2C5C2D5A2B3",
        "example.com. 300 IN TYPE65000 \\# 4 0a000001",
        "example.com. 300 IN DNAME example.net.",
    ]
    static let authorityTexts = [
        "example.com. 3600 IN NS ns1.example.com.",
        "example.com. 3600 IN NS ns2.example.org.",
        "example.com. 3600 IN SOA ns1.example.com. hostmaster.example.com. 2024010101 7200 900 1209600 300",
    ]
    static let additionalTexts = [
        "ns1.example.com. 3600 IN A 192.0.2.53",
        "ns1.example.com. 3600 IN AAAA 2001:db8::53",
        "mail.example.com. 300 IN A 192.0.2.25",
    ]

    /// Writes the records with ResponseWriter (compressing as it may) plus an OPT record.
    static func written(
        question: [UInt8], _ sections: [(ResponseWriter.Section, [ResourceRecord])], limit: Int = 65535,
        opt: (UInt16, UInt8, Bool)? = (1232, 0, true)
    ) -> [UInt8] {
        writeMessage(limit: limit) { w in
            w.begin(id: 0xC0DE, flags: 0x8500, question: question)
            for (section, records) in sections {
                for r in records {
                    let ok = r.name.wire.withUnsafeBytes { o in
                        r.rdata.withUnsafeBytes { d in
                            w.writeRecord(
                                section, owner: o, type: r.type, rrClass: r.rrClass.rawValue, ttl: r.ttl, rdata: d)
                        }
                    }
                    #expect(ok, "\(r)")
                }
            }
            if let (payload, ext, dnssecOK) = opt {
                check(w.writeOPT(payloadSize: payload, extendedRCode: ext, dnssecOK: dnssecOK))
            }
        }
    }

    @Test("libldns reads every record ResponseWriter writes, compressed names and all")
    func writerToLDNS() throws {
        let answer = try Self.answerTexts.map(LDNS.record)
        let authority = try Self.authorityTexts.map(LDNS.record)
        let additional = try Self.additionalTexts.map(LDNS.record)
        let question = RData.name("WWW.example.COM.") + u16(1) + u16(1)
        let bytes = Self.written(
            question: question, [(.answer, answer), (.authority, authority), (.additional, additional)])
        // The writer did compress: far fewer bytes than the names spelled out.
        let uncompressed = Message(
            question: [Question(name: name("www.example.com."), type: .a)],
            answer: answer, authority: authority, additional: additional
        ).encode()
        #expect(bytes.count + 100 < uncompressed.count)

        let p = try LDNS.parse(bytes)
        #expect(p.id == 0xC0DE)
        #expect(p.qr && p.aa && p.rd && !p.tc && !p.ra)
        #expect(p.rcode == 0)
        #expect(p.question.count == 1)
        #expect(p.question.first?.name == RData.name("WWW.example.COM."))
        #expect(p.question.first?.type == 1)
        #expect(p.answer.map(folded) == answer.map(folded))
        #expect(p.authority.map(folded) == authority.map(folded))
        #expect(p.additional.map(folded) == additional.map(folded))
        // Owners read back in the spelling the pointer leads to: the client's, for the qname.
        #expect(p.answer[0].name.wire == RData.name("WWW.example.COM."))
        // Types whose rdata names must not be compressed come back byte for byte (RFC 3597 §4).
        let raw: Set<RRType> = [.srv, .rp, .afsdb, .naptr, .dname, RRType(65000)]
        #expect(
            p.answer.filter { raw.contains($0.type) }.map(\.rdata)
                == answer.filter { raw.contains($0.type) }.map(\.rdata))
        // Where the spelling already matched, compressed rdata is exact too.
        #expect(p.answer.first { $0.type == .mx }?.rdata == RData.mx(10, "mail.example.COM."))
        #expect(p.ednsUDPSize == 1232 && p.ednsDO && p.ednsVersion == 0 && p.ednsExtendedRCode == 0)

        // Our own decoder agrees with libldns.
        let m = try Message.decode(bytes)
        #expect(m.answer == p.answer && m.authority == p.authority && m.additional == p.additional)
        #expect(m.edns == EDNS(payload: 1232, version: 0, dnssecOK: true))
    }

    @Test("BADVERS's upper bits and a bare header: libldns agrees")
    func extendedRCode() throws {
        let bytes = Self.written(question: wwwQuestion, [], opt: (4096, 1, false))
        let p = try LDNS.parse(bytes)
        #expect(p.ednsExtendedRCode == 1)
        #expect(p.rcode == 0)
        #expect(p.ednsUDPSize == 4096 && !p.ednsDO)
        #expect(try Message.decode(bytes).rcode == RCode.badVers.rawValue)
    }

    @Test("every record on its own, in each section: ldns reads back exactly what was written")
    func eachRecordAlone() throws {
        for text in Self.answerTexts + Self.authorityTexts + Self.additionalTexts {
            let r = try LDNS.record(text)
            for section in [ResponseWriter.Section.answer, .authority, .additional] {
                let bytes = Self.written(question: wwwQuestion, [(section, [r, r])], opt: nil)
                let p = try LDNS.parse(bytes)
                #expect((p.answer + p.authority + p.additional).map(folded) == [r, r].map(folded), "\(text)")
                let m = try Message.decode(bytes)
                #expect((m.answer + m.authority + m.additional).map(folded) == [r, r].map(folded), "\(text)")
                #expect(m.answer + m.authority + m.additional == p.answer + p.authority + p.additional, "\(text)")
            }
        }
    }

    @Test("a query made by libldns decodes with Query.decode and Message.decode")
    func ldnsQuery() throws {
        let cookie: [UInt8] = u16(10) + u16(8) + [1, 2, 3, 4, 5, 6, 7, 8]
        let bytes = try LDNS.message(
            id: 0x0F0F, qname: "WwW.Example.COM.", qtype: 28, ednsPayload: 4096, dnssecOK: true,
            ednsData: cookie)
        let q = try #require(decodedQuery(bytes))
        #expect(q.id == 0x0F0F)
        #expect(q.recursionDesired)
        #expect(q.qtype == .aaaa && q.qclass == .in)
        #expect(q.questionEnd == 12 + 17 + 4)
        #expect(Array(bytes[q.qnameStart..<q.qnameEnd]) == RData.name("WwW.Example.COM."))
        #expect(q.edns == EDNS(payload: 4096, version: 0, dnssecOK: true))
        let m = try Message.decode(bytes)
        #expect(m.question == [Question(name: name("www.example.com."), type: .aaaa)])
        #expect(m.question[0].name.wire == RData.name("WwW.Example.COM."))
        #expect(m.ednsOptions == [EDNSOption(code: 10, data: [1, 2, 3, 4, 5, 6, 7, 8])])
        // And the other way: the same query from Message.encode reads the same in libldns.
        let p = try LDNS.parse(m.encode())
        #expect(p.id == 0x0F0F && p.rd && !p.qr)
        #expect(p.ednsUDPSize == 4096 && p.ednsDO && p.ednsData == cookie)

        let plain = try LDNS.message(id: 1, qname: "example.net.", qtype: 15, flags: 0)
        let pq = try #require(decodedQuery(plain))
        #expect(pq.edns == nil && !pq.recursionDesired && pq.qtype == .mx && pq.questionEnd == plain.count)
    }

    @Test("a response libldns compresses decodes to libldns's own records")
    func ldnsResponse() throws {
        let bytes = try LDNS.message(
            id: 77, qname: "www.example.com.", qtype: 1, response: true, answer: Self.answerTexts,
            authority: Self.authorityTexts, additional: Self.additionalTexts, ednsPayload: 1232)
        let expected = try LDNS.parse(bytes)
        let m = try Message.decode(bytes)
        #expect(m.id == 77 && m.has(Header.qrBit) && m.has(Header.aaBit))
        #expect(m.answer == expected.answer)
        #expect(m.authority == expected.authority)
        #expect(m.additional == expected.additional)
        // libldns compresses case-insensitively too: the same names, perhaps respelled.
        #expect(m.answer.map(folded) == (try Self.answerTexts.map(LDNS.record)).map(folded))
        #expect(m.edns == EDNS(payload: 1232))
        // libldns did compress (otherwise this would prove little).
        #expect(bytes.count < m.encode().count)
        // A response is never taken for a query.
        #expect(Decoded(decodeQuery(bytes)) == .drop)
    }
}
