import Foundation
import Testing
@testable import TaskShimCore

struct Named: Handler {
    let name: String
    func handle(_ invocation: Invocation, context: HandlerContext) async throws -> Data { Data(name.utf8) }
}

struct RegistryTests {
    @Test func resolvesNamesAndFileTargets() throws {
        var registry = HandlerRegistry()
        registry.register(Named(name: "report"))
        registry.register(fileExtension: "sql") { Named(name: "file:" + $0) }
        #expect(try registry.resolve("report").name == "report")
        #expect(try registry.resolve("jobs/hourly.SQL").name == "file:jobs/hourly.SQL")
        #expect(registry.names == ["report"])
        #expect(registry.fileExtensions == ["sql"])
    }

    @Test func unknownNameListsWhatIsRegistered() {
        var registry = HandlerRegistry()
        registry.register(Named(name: "report"))
        do {
            _ = try registry.resolve("reprot")
            Issue.record("expected an error")
        } catch {
            #expect(error.status == .noHandler)
            #expect(error.description.contains("reprot"))
            #expect(error.description.contains("report"))
        }
    }
}
