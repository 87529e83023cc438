import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing
import TestSupport

/// HTTPS with `--tls-cert/--tls-key`, and SIGHUP swapping the certificate while an
/// upload streams over a connection opened before the swap.
extension ClientTests {
    @Suite struct TLSTests {
        @Test func sighupReloadsTheCertificateWithoutDroppingConnections() throws {
            let certificates = try TemporaryDirectory("tls-certs")
            defer { certificates.remove() }
            let first = try makeCertificate(in: certificates.path, name: "first")
            let second = try makeCertificate(in: certificates.path, name: "second")
            let live = (certificate: "\(certificates.path)/server.crt", key: "\(certificates.path)/server.key")
            try install(first, at: live)

            let fixture = try RegistryFixture("tls", serveArguments: { _ in ["--tls-cert", live.certificate, "--tls-key", live.key] },
                                              ready: { port in (try? curlStatus(port: port, path: "/v2/", trusting: first.certificate)) == "200" })
            defer { fixture.tearDown() }
            let port = fixture.port
            // Plain HTTP is not spoken on the TLS port.
            #expect((try? HTTP.request("GET", port: port, path: "/v2/", timeout: 5))?.status != 200)
            #expect(try curlStatus(port: port, path: "/v2/", trusting: second.certificate) != "200",
                    "the second certificate must not be served before the reload")

            // An upload starts on a connection made with the first certificate...
            let location = try startUpload(port: port, repository: "tls/app", trusting: first.certificate)
            let sessionID = try #require(location.split(separator: "/").last.map(String.init))
            let bytes = randomBytes(4 << 20)
            let patch = try StreamingCurl(arguments: [
                "-sS", "--cacert", first.certificate, "-T", "-", "-X", "PATCH",
                "-H", "Content-Type: application/octet-stream", "-o", "/dev/null", "-w", "%{http_code}",
                "https://127.0.0.1:\(port)\(location)",
            ])
            try patch.write(Array(bytes[..<(3 << 20)]))
            try waitFor("the first bytes of the PATCH to reach the server") {
                let size = (try? FileManager.default.attributesOfItem(atPath: "\(fixture.dataDirectory)/uploads/\(sessionID)")[.size] as? Int) ?? 0
                return size > 0
            }

            // ...the files are replaced and SIGHUP sent...
            try install(second, at: live)
            kill(try #require(fixture.registry.pid), SIGHUP)
            try waitFor("new connections to get the second certificate") {
                (try? curlStatus(port: port, path: "/v2/", trusting: second.certificate)) == "200"
            }
            #expect(try curlStatus(port: port, path: "/v2/", trusting: first.certificate) != "200",
                    "after the reload the first certificate must no longer be served")

            // ...and the upload on the old connection finishes.
            try patch.write(Array(bytes[(3 << 20)...]))
            let patched = try patch.finish()
            #expect(patched == "202", "the PATCH that straddled the reload must succeed")
            let digest = sha256(bytes)
            let finished = try curl(port: port, trusting: second.certificate, [
                "-X", "PUT", "-o", "/dev/null", "-w", "%{http_code}", "\(location)?digest=\(digest)",
            ])
            #expect(finished.stdout == "201")
            let pulledPath = "\(certificates.path)/pulled"
            try curl(port: port, trusting: second.certificate, ["-o", pulledPath, "/v2/tls/app/blobs/\(digest)"])
            #expect(sha256([UInt8](try Data(contentsOf: URL(fileURLWithPath: pulledPath)))) == digest)
            #expect(fixture.registry.log().contains("TLS certificate reloaded"))
        }

        /// With TLS on, ALPN offers h2 and http/1.1: curl and skopeo (Go) push and pull over HTTP/2,
        /// and a client that asks for HTTP/1.1 still gets it.
        @Test func http2IsNegotiatedForPushAndPull() throws {
            let certificates = try TemporaryDirectory("tls-h2")
            defer { certificates.remove() }
            let pair = try makeCertificate(in: certificates.path, name: "h2")
            let fixture = try RegistryFixture("tls-h2", serveArguments: { _ in ["--tls-cert", pair.certificate, "--tls-key", pair.key] },
                                              ready: { port in (try? curlStatus(port: port, path: "/v2/", trusting: pair.certificate)) == "200" })
            defer { fixture.tearDown() }
            let port = fixture.port
            #expect(try curl(port: port, trusting: pair.certificate, ["--http2", "-o", "/dev/null", "-w", "%{http_version}", "/v2/"]).stdout == "2")
            #expect(try curl(port: port, trusting: pair.certificate, ["--http1.1", "-o", "/dev/null", "-w", "%{http_version}", "/v2/"]).stdout == "1.1")

            // curl over h2: a blob streamed up with PATCH and PUT, then pulled back.
            let bytes = randomBytes(3 << 20)
            let file = "\(certificates.path)/blob"
            try Data(bytes).write(to: URL(fileURLWithPath: file))
            let location = try startUpload(port: port, repository: "h2/app", trusting: pair.certificate)
            let patched = try curl(port: port, trusting: pair.certificate, [
                "--http2", "-T", file, "-X", "PATCH", "-H", "Content-Type: application/octet-stream",
                "-o", "/dev/null", "-w", "%{http_version} %{http_code}", location,
            ])
            #expect(patched.stdout == "2 202")
            let digest = sha256(bytes)
            let finished = try curl(port: port, trusting: pair.certificate, [
                "--http2", "-X", "PUT", "-o", "/dev/null", "-w", "%{http_version} %{http_code}", "\(location)?digest=\(digest)",
            ])
            #expect(finished.stdout == "2 201")
            let pulledPath = "\(certificates.path)/pulled"
            let pulled = try curl(port: port, trusting: pair.certificate, ["--http2", "-o", pulledPath, "-w", "%{http_version}", "/v2/h2/app/blobs/\(digest)"])
            #expect(pulled.stdout == "2")
            #expect(sha256([UInt8](try Data(contentsOf: URL(fileURLWithPath: pulledPath)))) == digest)

            // skopeo (Go's HTTP client) trusting the certificate through a certs.d directory.
            let certsDirectory = try fixture.directory.sub("certs.d")
            try FileManager.default.copyItem(atPath: pair.certificate, toPath: "\(certsDirectory)/ca.crt")
            let image = try TestImage(layerSizes: [1 << 20, 4321])
            let source = try OCILayoutWriter(path: try fixture.directory.sub("src"))
            for blob in image.blobs + [image.manifest] { try source.add(blob) }
            try source.writeIndex([("v1", image.manifest)])
            let reference = "docker://127.0.0.1:\(port)/h2/skopeo:v1"
            try run("skopeo", ["copy", "--preserve-digests", "--dest-cert-dir", certsDirectory, "oci:\(source.path):v1", reference])
            let pulledLayout = "\(fixture.directory.path)/skopeo-pulled"
            try run("skopeo", ["copy", "--preserve-digests", "--src-cert-dir", certsDirectory, reference, "oci:\(pulledLayout):v1"])
            let reader = OCILayoutReader(path: pulledLayout)
            #expect(try reader.descriptor(ref: "v1").digest == image.manifest.digest)
            #expect(try reader.verifiedDigests() == Set((image.blobs + [image.manifest]).map(\.digest)))
            let skopeoLines = fixture.registry.log().components(separatedBy: "\n").filter { $0.contains("containers/") || $0.contains("skopeo") }
            #expect(!skopeoLines.isEmpty && skopeoLines.allSatisfy { $0.contains("protocol=HTTP/2") }, "skopeo's requests: \(skopeoLines.prefix(3))")
        }

        @Test func aBadCertificateOnReloadKeepsTheOldOne() throws {
            let certificates = try TemporaryDirectory("tls-bad")
            defer { certificates.remove() }
            let first = try makeCertificate(in: certificates.path, name: "first")
            let other = try makeCertificate(in: certificates.path, name: "other")
            let live = (certificate: "\(certificates.path)/server.crt", key: "\(certificates.path)/server.key")
            try install(first, at: live)
            let fixture = try RegistryFixture("tls-bad", serveArguments: { _ in ["--tls-cert", live.certificate, "--tls-key", live.key] },
                                              ready: { port in (try? curlStatus(port: port, path: "/v2/", trusting: first.certificate)) == "200" })
            defer { fixture.tearDown() }
            let pid = try #require(fixture.registry.pid)

            // A key that is not PEM, then a key of another certificate: both refused.
            try Data("not a key\n".utf8).write(to: URL(fileURLWithPath: live.key))
            kill(pid, SIGHUP)
            try waitFor("the failed reload to be logged") { fixture.registry.log().contains("TLS certificate reload failed") }
            try FileManager.default.removeItem(atPath: live.key)
            try FileManager.default.copyItem(atPath: other.key, toPath: live.key)
            kill(pid, SIGHUP)
            try waitFor("the second failed reload to be logged") {
                fixture.registry.log().components(separatedBy: "TLS certificate reload failed").count == 3
            }
            #expect(try curlStatus(port: fixture.port, path: "/v2/", trusting: first.certificate) == "200",
                    "the server must keep serving the certificate it had")
            #expect(fixture.registry.exitStatus == nil, "a bad reload must not stop the server")
        }

        @Test func aServerWithUnusableTLSFilesDoesNotStart() throws {
            let directory = try TemporaryDirectory("tls-refused")
            defer { directory.remove() }
            try Data("nonsense".utf8).write(to: URL(fileURLWithPath: "\(directory.path)/bad.pem"))
            let logPath = "\(directory.path)/registry.log"
            _ = FileManager.default.createFile(atPath: logPath, contents: nil)
            let process = try SpawnedProcess(RegistryProcess.executablePath, [
                "serve", "--listen", "127.0.0.1:\(try freeLoopbackPort())", "--data-dir", try directory.sub("data"),
                "--tls-cert", "\(directory.path)/bad.pem", "--tls-key", "\(directory.path)/bad.pem",
            ], environment: SpawnedProcess.environment(), stdout: logPath, stderr: logPath)
            defer { process.signal(SIGKILL) }
            try waitFor("the server to refuse to start", timeout: 60) { !process.isRunning }
            let output = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
            #expect(process.status != 0)
            #expect(output.contains("bad.pem"), "the error must name the file:\n\(output)")
        }
    }
}

// MARK: Certificates and curl

typealias CertificatePair = (certificate: String, key: String)

/// A self-signed P-256 certificate for 127.0.0.1, made with the openssl CLI.
func makeCertificate(in directory: String, name: String) throws -> CertificatePair {
    let pair = (certificate: "\(directory)/\(name).crt", key: "\(directory)/\(name).key")
    try run("openssl", [
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", pair.key, "-out", pair.certificate, "-days", "2", "-subj", "/CN=127.0.0.1 \(name)",
        "-addext", "subjectAltName=IP:127.0.0.1",
    ], timeout: 60)
    return pair
}

/// Copies a pair over the files the server reads (as certbot's deploy hook would).
func install(_ pair: CertificatePair, at live: CertificatePair) throws {
    for (source, target) in [(pair.certificate, live.certificate), (pair.key, live.key)] {
        try? FileManager.default.removeItem(atPath: target)
        try FileManager.default.copyItem(atPath: source, toPath: target)
    }
}

/// `curl --cacert <ca> https://127.0.0.1:<port><path>`; `arguments` ends with the path.
@discardableResult
func curl(port: Int, trusting ca: String, _ arguments: [String]) throws -> ToolResult {
    var arguments = arguments
    let path = arguments.removeLast()
    return try run("curl", ["-sS", "--max-time", "30", "--cacert", ca] + arguments + ["https://127.0.0.1:\(port)\(path)"], timeout: 60)
}

/// The HTTP status as curl saw it, or curl's exit status (e.g. 60, untrusted certificate) as "curl N".
func curlStatus(port: Int, path: String, trusting ca: String) throws -> String {
    let result = try runAllowingFailure("curl", [
        "-sS", "--max-time", "10", "--cacert", ca, "-o", "/dev/null", "-w", "%{http_code}", "https://127.0.0.1:\(port)\(path)",
    ], timeout: 30)
    return result.succeeded ? result.stdout : "curl \(result.status)"
}

/// POST /v2/<repository>/blobs/uploads/ over HTTPS; returns the Location.
func startUpload(port: Int, repository: String, trusting ca: String) throws -> String {
    let result = try curl(port: port, trusting: ca, ["-X", "POST", "-D", "-", "-o", "/dev/null", "/v2/\(repository)/blobs/uploads/"])
    let line = result.stdout.components(separatedBy: "\r\n").first { $0.lowercased().hasPrefix("location:") }
    guard let line else { throw ClientTestError("no Location in:\n\(result.output)") }
    return line.dropFirst("location:".count).trimmingCharacters(in: .whitespaces)
}

/// Polls `condition` for up to `timeout` seconds.
func waitFor(_ what: String, timeout: TimeInterval = 20, _ condition: () throws -> Bool) throws {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try condition() { return }
        usleep(50_000)
    }
    throw ClientTestError("timed out after \(Int(timeout)) s waiting for \(what)")
}

/// curl uploading whatever the test writes to its standard input (`-T -`, chunked),
/// so that the test decides when each part of the body is sent.
final class StreamingCurl {
    private let process: SpawnedProcess
    /// The write end of curl's standard input.
    private let input: FileHandle
    private let outputPath: String

    init(arguments: [String]) throws {
        outputPath = FileManager.default.temporaryDirectory.appendingPathComponent("stowage-curl-\(UUID().uuidString)").path
        var ends: [Int32] = [0, 0]
        guard pipe(&ends) == 0 else { throw ClientTestError("pipe failed: errno \(errno)") }
        _ = fcntl(ends[1], F_SETFD, FD_CLOEXEC)
        defer { close(ends[0]) }
        input = FileHandle(fileDescriptor: ends[1], closeOnDealloc: true)
        process = try SpawnedProcess(try requireTool("curl"), arguments, environment: SpawnedProcess.environment(),
                                     stdout: outputPath, stderr: outputPath, stdin: ends[0])
    }

    func write(_ bytes: [UInt8]) throws {
        try input.write(contentsOf: Data(bytes))
    }

    /// Ends the body, waits for curl, returns what it printed.
    func finish(timeout: TimeInterval = 60) throws -> String {
        try input.close()
        if process.waitBlocking(timeout: timeout) == nil {
            process.signal(SIGKILL)
            process.waitBlocking(timeout: 10)
        }
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        return (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
    }

    deinit {
        process.signal(SIGKILL)
    }
}
