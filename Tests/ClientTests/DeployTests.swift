import Foundation
import Testing
import TestSupport

/// deploy/: the systemd unit passes `systemd-analyze verify` without a warning; the
/// Dockerfile and compose file name products, files, subcommands and flags that
/// exist (no container engine here builds them); `registry healthcheck` answers as
/// a HEALTHCHECK needs.
extension ClientTests {
    @Suite struct DeployTests {
        static let deploy = packageRoot.appendingPathComponent("deploy").path

        static func read(_ file: String) throws -> String {
            try String(contentsOfFile: "\(deploy)/\(file)", encoding: .utf8)
        }

        @Test func systemdUnitVerifiesWithoutWarnings() throws {
            guard FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze") else {
                throw ClientTestError("systemd-analyze is not installed: this test needs the Debian package 'systemd' (apt-get install systemd; scripts/test installs it)")
            }
            let unit = try Self.read("stowage.service")
            for directive in [
                "ExecStart=/usr/local/bin/registry serve --config /etc/stowage/config.yml", "User=stowage",
                "ProtectSystem=strict", "ReadWritePaths=/var/lib/stowage", "StateDirectory=stowage", "NoNewPrivileges=yes",
                "PrivateTmp=yes", "ProtectHome=yes", "CapabilityBoundingSet=\n", "Restart=on-failure", "KillSignal=SIGTERM",
                "ExecReload=/bin/kill -HUP $MAINPID",
            ] {
                #expect(unit.contains(directive), "deploy/stowage.service lacks \(directive)")
            }
            // verify needs the ExecStart binary to exist: a copy points at the built one.
            let directory = try TemporaryDirectory("unit")
            defer { directory.remove() }
            let copy = "\(directory.path)/stowage.service"
            try unit.replacingOccurrences(of: "/usr/local/bin/registry", with: RegistryProcess.executablePath)
                .write(toFile: copy, atomically: true, encoding: .utf8)
            let result = try runAllowingFailure("systemd-analyze", ["verify", copy])
            #expect(result.status == 0, "\(result.output)")
            let complaints = (result.stdout + result.stderr).split(separator: "\n").filter { $0.contains("stowage") }
            #expect(complaints.isEmpty, "systemd-analyze verify warns about the unit:\n\(complaints.joined(separator: "\n"))")
        }

        @Test func unitStopTimeoutOutlastsTheServer() throws {
            let unit = try Self.read("stowage.service")
            let line = try #require(unit.split(separator: "\n").first { $0.hasPrefix("TimeoutStopSec=") })
            let seconds = try #require(Int(line.dropFirst("TimeoutStopSec=".count)))
            // The server's graceful shutdown (in-flight requests, a GC transaction) must fit.
            #expect(seconds >= 60)
        }

        @Test func dockerfileNamesWhatExists() throws {
            let dockerfile = try Self.read("Dockerfile")
            let package = try String(contentsOfFile: packageRoot.appendingPathComponent("Package.swift").path, encoding: .utf8)
            let products = Self.matches(#"--product ([A-Za-z0-9_-]+)"#, in: dockerfile)
            #expect(Set(products) == ["registry", "registry-gc"], "the image ships both executables")
            for product in products {
                #expect(package.contains(".executable(name: \"\(product)\""), "Package.swift has no executable product \(product)")
            }
            for source in ["Package.swift", "Package.resolved", "Sources", "migrations", "Tests", "deploy/config.example.yml"] {
                #expect(dockerfile.contains("COPY \(source)") || dockerfile.contains(" \(source) "), "the Dockerfile copies \(source)")
                #expect(FileManager.default.fileExists(atPath: packageRoot.appendingPathComponent(source).path), "\(source) is missing")
            }
            #expect(dockerfile.contains("--static-swift-stdlib"))
            #expect(dockerfile.contains("FROM debian:bookworm-slim"))
            #expect(dockerfile.contains("libsqlite3-0 ca-certificates"))
            #expect(dockerfile.contains("USER stowage"))
            #expect(dockerfile.contains("VOLUME /var/lib/stowage"))
            #expect(dockerfile.contains("EXPOSE 5000"))
            #expect(dockerfile.contains(#"CMD ["serve", "--listen", "0.0.0.0:5000", "--data-dir", "/var/lib/stowage"]"#))
            #expect(dockerfile.contains(#"CMD ["/usr/local/bin/registry", "healthcheck", "--url", "http://127.0.0.1:5000/readyz"]"#))
            // The subcommands and flags the image runs exist in this build.
            let serve = try runRegistry(["serve", "--help"])
            for flag in ["--listen", "--data-dir", "--config"] { #expect(serve.stdout.contains(flag), "serve has no \(flag)") }
            let healthcheck = try runRegistry(["healthcheck", "--help"])
            #expect(healthcheck.status == 0 && healthcheck.stdout.contains("--url"), "\(healthcheck.output)")
        }

        @Test func composeFileNamesWhatExists() throws {
            let compose = try Self.read("compose.yml")
            #expect(compose.contains("dockerfile: deploy/Dockerfile"))
            #expect(FileManager.default.fileExists(atPath: "\(Self.deploy)/Dockerfile"))
            #expect(compose.contains("./config.example.yml:/etc/stowage/config.yml:ro"))
            #expect(FileManager.default.fileExists(atPath: "\(Self.deploy)/config.example.yml"))
            #expect(compose.contains("stowage-data:/var/lib/stowage"))
            #expect(compose.contains(#""5000:5000""#))
            #expect(compose.contains(#"test: ["CMD", "/usr/local/bin/registry", "healthcheck", "--url", "http://127.0.0.1:5000/readyz"]"#))
        }

        @Test func healthcheckExitCodes() throws {
            let fixture = try RegistryFixture("healthcheck")
            defer { fixture.tearDown() }
            let ready = try runRegistry(["healthcheck", "--url", "http://\(fixture.hostPort)/readyz"])
            #expect(ready.status == 0, "\(ready.output)")
            #expect(ready.stdout.contains("HTTP 200"))
            let missing = try runRegistry(["healthcheck", "--url", "http://\(fixture.hostPort)/no-such-endpoint"])
            #expect(missing.status == 1, "\(missing.output)")
            #expect(missing.stdout.contains("HTTP 404"), "\(missing.output)")
            let port = try freeLoopbackPort()
            let closed = try runRegistry(["healthcheck", "--url", "http://127.0.0.1:\(port)/readyz", "--timeout", "2"])
            #expect(closed.status == 1, "\(closed.output)")
            #expect(closed.stderr.contains("registry healthcheck: http://127.0.0.1:\(port)/readyz: "), "\(closed.output)")
            #expect(closed.stderr.lowercased().contains("refused"), "the reason is named: \(closed.output)")
            // HTTPS against the plain listener: the TLS handshake fails, and the check with it.
            let https = try runRegistry(["healthcheck", "--url", "https://\(fixture.hostPort)/readyz", "--timeout", "2"])
            #expect(https.status == 1, "\(https.output)")
        }

        static func matches(_ pattern: String, in text: String) -> [String] {
            guard let regex = try? NSRegularExpression(pattern: pattern) else { return [] }
            return regex.matches(in: text, range: NSRange(text.startIndex..., in: text)).compactMap {
                Range($0.range(at: 1), in: text).map { String(text[$0]) }
            }
        }
    }
}
