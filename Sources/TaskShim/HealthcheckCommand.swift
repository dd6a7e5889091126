import ArgumentParser
import FoundationEssentials
import TaskShimClients
import TaskShimCore

struct HealthcheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "healthcheck",
        abstract: "Exit 0 when the `runtime serve` on this host answers its health probe, else 1 (ECS and Docker HEALTHCHECK).",
        discussion: """
            Asks 127.0.0.1:$PORT with GET $TASKSHIM_HEALTH_PATH when that is set, else with `OPTIONS *`, \
            which the server answers itself without running the function. Healthy is a 2xx within \
            --timeout; a server that is draining answers 503.

            ECS task definition: "healthCheck": {"command": ["CMD", "/var/task/runtime", "healthcheck"]}
            """
    )

    @Option(name: .long, help: ArgumentHelp("The port (default: PORT, else 8080).", valueName: "port"))
    var port: Int?

    @Option(name: .long, help: ArgumentHelp("The path to GET (default: TASKSHIM_HEALTH_PATH, else OPTIONS *).", valueName: "path"))
    var path: String?

    @Option(name: .long, help: ArgumentHelp("Seconds to wait for the answer.", valueName: "seconds"))
    var timeout: Double = 2

    func run() async throws {
        guard let (_, io) = Runtime.current else { return }
        var port = self.port ?? 8080
        if self.port == nil {
            try await io.reportingErrors { _ throws(TaskShimError) in
                port = try io.environment.int("PORT", default: 8080, in: 1...65535)
            }
        }
        let path = self.path ?? io.environment["TASKSHIM_HEALTH_PATH"]
        let connection = LocalHTTPConnection(host: "127.0.0.1", port: port, maxResponseBytes: 64 << 10)
        let timeout = self.timeout
        let verdict: String? = await withTaskGroup(of: String??.self) { group in
            group.addTask {
                do {
                    let response = try await connection.send(method: path == nil ? "OPTIONS" : "GET", path: path ?? "*")
                    return .some((200..<300).contains(response.status) ? nil : "answered \(response.status)")
                } catch {
                    return .some("\(error)")
                }
            }
            group.addTask {
                try? await Task.sleep(for: .seconds(timeout))
                return Task.isCancelled ? .none : .some("no answer within \(timeout) s")
            }
            let first = await group.next()!!
            group.cancelAll()
            return first
        }
        if let verdict {
            io.standardError.write(line: "runtime healthcheck: unhealthy: 127.0.0.1:\(port) \(path ?? "OPTIONS *"): \(verdict)")
            throw ExitCode(1)
        }
    }
}
