import Foundation
import GRDB
import Hummingbird
import RegistryCore

/// `GET /healthz`: liveness, 200 whenever the process answers HTTP.
/// `GET /readyz`: readiness, 200 only when the database answers a read and the data
/// directory takes a durable write; otherwise 503 with a JSON body naming each check.
/// Neither is behind the registry's access control: probes carry no credentials.
struct HealthController: Sendable {
    let registry: Registry

    func register(on router: Router<RegistryRequestContext>) {
        router.get("/healthz") { _, _ in Self.json(.ok, #"{"status":"ok"}"#) }
        router.head("/healthz") { _, _ in Response(status: .ok) }
        router.get("/readyz") { _, _ in await self.readiness() }
    }

    func readiness() async -> Response {
        let paths = StoragePaths(root: registry.configuration.dataDirectory)
        var failures: [(check: String, error: String)] = []
        do { try await Self.checkDatabase(path: paths.database) } catch {
            failures.append(("database", "\(error)"))
        }
        do { try Self.checkWritable(directory: paths.root) } catch {
            failures.append(("storage", "\(error)"))
        }
        if failures.isEmpty {
            return Self.json(.ok, #"{"status":"ready","checks":{"database":"ok","storage":"ok"}}"#)
        }
        var checks: [String: String] = ["database": "ok", "storage": "ok"]
        for failure in failures { checks[failure.check] = failure.error }
        let body = ["status": "unavailable", "failed": failures.map(\.check).joined(separator: ","), "checks": checks] as [String: Any]
        let data = (try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])) ?? Data("{}".utf8)
        return Self.json(.serviceUnavailable, String(decoding: data, as: UTF8.self))
    }

    /// A read on a fresh read-only connection to the database file at its configured
    /// path: proves the file there is the registry's database and readable now (an
    /// open pooled connection would keep reading a file that was moved or replaced).
    static func checkDatabase(path: String) async throws {
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(2)
        let queue = try DatabaseQueue(path: path, configuration: configuration)
        defer { try? queue.close() }
        _ = try await queue.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM schema_migrations") }
    }

    /// Creates, fsyncs and deletes a small file in the data directory.
    static func checkWritable(directory: String) throws {
        let probe = "\(directory)/.readyz-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(probe, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else { throw ProbeError("cannot create \(probe): \(String(cString: strerror(errno)))") }
        defer { unlink(probe) }
        let ok = (write(fd, "ok", 2) == 2) && fsync(fd) == 0
        let code = errno
        close(fd)
        guard ok else { throw ProbeError("cannot write \(probe): \(String(cString: strerror(code)))") }
    }

    struct ProbeError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    static func json(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(status: status, headers: [.contentType: "application/json", .cacheControl: "no-store"],
                 body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }
}
