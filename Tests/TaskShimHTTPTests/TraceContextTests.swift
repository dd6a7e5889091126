import Testing
@testable import TaskShimHTTP

struct TraceContextTests {
    @Test func traceparentGivesTheTraceAndParentSpan() {
        #expect(TraceContext(traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", cloudTraceContext: nil)
                == TraceContext(traceID: "4bf92f3577b34da6a3ce929d0e0e4736", spanID: "00f067aa0ba902b7"))
    }

    @Test func theCloudTraceContextSpanIsDecimalAndConverted() {
        #expect(TraceContext(traceparent: nil, cloudTraceContext: "105445aa7843bc8bf206b12000100000/1;o=1")
                == TraceContext(traceID: "105445aa7843bc8bf206b12000100000", spanID: "0000000000000001"))
        #expect(TraceContext(traceparent: nil, cloudTraceContext: "105445aa7843bc8bf206b12000100000/18446744073709551615")?.spanID
                == "ffffffffffffffff")
        #expect(TraceContext(traceparent: nil, cloudTraceContext: "105445aa7843bc8bf206b12000100000")?.spanID == nil)
    }

    @Test func traceparentWinsAndInvalidHeadersAreIgnored() {
        let both = TraceContext(traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                                cloudTraceContext: "105445aa7843bc8bf206b12000100000/1")
        #expect(both?.traceID == "4bf92f3577b34da6a3ce929d0e0e4736")
        let badParent = TraceContext(traceparent: "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
                                     cloudTraceContext: "105445aa7843bc8bf206b12000100000/7")
        #expect(badParent == TraceContext(traceID: "105445aa7843bc8bf206b12000100000", spanID: "0000000000000007"))
        for garbage in ["", "nonsense", "00-xyz-abc-01", "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"] {
            #expect(TraceContext(traceparent: garbage, cloudTraceContext: "short/1") == nil)
        }
    }
}
