import Foundation

/// Tests/Support/audit_receiver.py: a Splunk HTTP Event Collector and a Standard Webhooks receiver
/// (which checks signatures with Python's hmac) on one loopback port, that can be taken down, brought
/// back on the same port, or told to answer 503 or slowly.
public final class AuditReceiver: @unchecked Sendable {
    public let token: String
    public let secret: String
    public private(set) var port: Int
    private let directory: TemporaryDirectory
    private var server: PortServer?

    public static func start(token: String, secret: String) async throws -> AuditReceiver {
        let receiver = try AuditReceiver(token: token, secret: secret)
        try await receiver.bringUp()
        return receiver
    }

    /// A receiver that is not running yet: its port is chosen and stays free until ``bringUp()``.
    public init(token: String, secret: String) throws {
        self.token = token
        self.secret = secret
        directory = try TemporaryDirectory()
        port = Int(closedPort())
    }

    public var hecURL: String { "http://127.0.0.1:\(port)" }
    public var webhookURL: String { "http://127.0.0.1:\(port)/hooks/audit" }

    /// Starts (or restarts) the receiver on its port.
    public func bringUp() async throws {
        let arguments = ["python3", RepositoryPaths.path("Tests/Support/audit_receiver.py"), "--port", String(port),
                         "--log", directory.file("events.jsonl"), "--mode", directory.file("mode"),
                         "--token", token, "--secret", secret]
        server = try await offPool { try PortServer(arguments) }
    }

    /// Kills it: connections are refused until ``bringUp()``.
    public func takeDown() async throws {
        try await server?.stop()
        server = nil
    }

    /// `503`, `slow=SECONDS`, or `` for normal answers.
    public func setMode(_ mode: String) throws {
        try mode.write(toFile: directory.file("mode"), atomically: true, encoding: .utf8)
    }

    /// The events accepted so far, in arrival order: `sink`, `id`, `event` and the sink's extras.
    public var events: [[String: Any]] {
        guard let text = try? String(contentsOfFile: directory.file("events.jsonl"), encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    public func events(sink: String) -> [[String: Any]] { events.filter { $0["sink"] as? String == sink } }

    /// Waits until `count` events of the sink arrived; returns them.
    public func waitForEvents(sink: String, count: Int, timeout: Duration = .seconds(30)) async throws -> [[String: Any]] {
        let end = ContinuousClock.now + timeout
        while ContinuousClock.now < end {
            let found = events(sink: sink)
            if found.count >= count { return found }
            try await Task.sleep(for: .milliseconds(20))
        }
        return events(sink: sink)
    }
}
