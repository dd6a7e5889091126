import Testing
@testable import TaskShimCore

struct PercentDecodingTests {
    @Test(arguments: [("p%40ss%21", "p@ss!"), ("caf%C3%A9", "café"), ("100%", "100%"), ("%zz%4", "%zz%4"), ("%2", "%2"),
                      ("plain", "plain"), ("%25%2525", "%%25")])
    func escapesAreDecodedAndAnythingElseKept(_ pair: (String, String)) {
        #expect(pair.0.percentDecoded == pair.1)
    }
}
