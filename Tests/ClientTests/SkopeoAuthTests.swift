import Foundation
import GRDB
import Testing
import TestSupport

/// skopeo against a registry with access control: HTTP Basic with `--htpasswd`,
/// `skopeo login` against the built-in token endpoint, a pull-only user, anonymous
/// pulls where a rule allows them, and a token that expires in the middle of a push.
extension ClientTests {
    @Suite struct SkopeoAuthTests {
        /// bcrypt (cost 5) as `htpasswd -B` writes it; the passwords are `<user>-pass`.
        static let htpasswd = """
            pusher:$2y$05$/sPFFQnbz0QjRttZonTg8eMFh31e8JQY26S7y.oXz7krYgvk91Cbm
            reader:$2y$05$.ZiAKVi1vvdoLVIEGX6.kuOOIqyb/WLG3MEEi1Ci7iiZ9X5dTxK7K
            admin:$2y$05$FH4iOfwqVjMWNFbZ9qqnhu4zQlwwANMKW31tY/iAUW8iseyS.00QW

            """

        static let rules = """
              access:
                - subjects: [pusher, admin]
                  repositories: ["**"]
                  actions: [pull, push, delete]
                - subjects: [reader]
                  repositories: ["**"]
                  actions: [pull]
                - subjects: [anonymous]
                  repositories: ["public/**"]
                  actions: [pull]
            """

        /// `registry serve` arguments for a config with this `auth:` section and the htpasswd file.
        static func serveArguments(auth: String) -> (TemporaryDirectory) throws -> [String] {
            { directory in
                let htpasswdPath = "\(directory.path)/htpasswd"
                try htpasswd.write(toFile: htpasswdPath, atomically: true, encoding: .utf8)
                let config = "auth:\n  htpasswd: \(htpasswdPath)\n" + auth
                try config.write(toFile: "\(directory.path)/config.yml", atomically: true, encoding: .utf8)
                return ["--config", "\(directory.path)/config.yml"]
            }
        }

        /// A small image in an OCI layout under the fixture's directory.
        static func layout(_ fixture: RegistryFixture, layerSizes: [Int] = [50_000, 1234]) throws -> (path: String, image: TestImage) {
            let image = try TestImage(layerSizes: layerSizes)
            let source = try OCILayoutWriter(path: try fixture.directory.sub("src-\(UUID().uuidString.prefix(6))"))
            for blob in image.blobs + [image.manifest] { try source.add(blob) }
            try source.writeIndex([("v1", image.manifest)])
            return (source.path, image)
        }

        static func actors(_ fixture: RegistryFixture) throws -> [String] {
            try StoreInspector(dataDirectory: fixture.dataDirectory).database().read { db in
                try String.fetchAll(db, sql: "SELECT DISTINCT actor FROM audit_events WHERE action <> 'manifest.pull' ORDER BY actor")
            }
        }

        @Test func copyWithCredsIntoHtpasswdRegistry() throws {
            let fixture = try RegistryFixture("skopeo-htpasswd") { directory in
                let path = "\(directory.path)/htpasswd"
                try Self.htpasswd.write(toFile: path, atomically: true, encoding: .utf8)
                return ["--htpasswd", path]
            }
            defer { fixture.tearDown() }
            let (source, image) = try Self.layout(fixture)
            let reference = "docker://\(fixture.hostPort)/team/app:v1"

            let anonymous = try runAllowingFailure("skopeo", ["copy", "--preserve-digests", "--dest-tls-verify=false", "--dest-no-creds",
                                                              "oci:\(source):v1", reference])
            #expect(!anonymous.succeeded, "anonymous push must be refused:\n\(anonymous.output)")
            let wrong = try runAllowingFailure("skopeo", ["copy", "--preserve-digests", "--dest-tls-verify=false",
                                                          "--dest-creds", "pusher:wrong", "oci:\(source):v1", reference])
            #expect(!wrong.succeeded, "a wrong password must be refused:\n\(wrong.output)")

            try run("skopeo", ["copy", "--preserve-digests", "--dest-tls-verify=false", "--dest-creds", "pusher:pusher-pass",
                               "oci:\(source):v1", reference])
            let inspected = try run("skopeo", ["inspect", "--raw", "--tls-verify=false", "--creds", "reader:reader-pass", reference])
            #expect(inspected.stdoutBytes == image.manifest.bytes)
            let noCreds = try runAllowingFailure("skopeo", ["inspect", "--raw", "--tls-verify=false", "--no-creds", reference])
            #expect(!noCreds.succeeded, "--htpasswd refuses anonymous callers:\n\(noCreds.output)")

            // Every change skopeo made is in the audit trail under its user.
            #expect(try Self.actors(fixture) == ["pusher"])
            #expect(fixture.registry.log().contains("htpasswd"), "the startup log names the auth mode")
        }

        @Test func pullOnlyUserCannotPushOrDelete() throws {
            let fixture = try RegistryFixture("skopeo-reader", serveArguments: Self.serveArguments(auth: "  mode: htpasswd\n" + Self.rules))
            defer { fixture.tearDown() }
            let (source, image) = try Self.layout(fixture)
            let reference = "docker://\(fixture.hostPort)/team/app:v1"
            try run("skopeo", ["copy", "--preserve-digests", "--dest-tls-verify=false", "--dest-creds", "pusher:pusher-pass",
                               "oci:\(source):v1", reference])

            let other = try Self.layout(fixture, layerSizes: [3000])
            let push = try runAllowingFailure("skopeo", ["copy", "--preserve-digests", "--dest-tls-verify=false",
                                                         "--dest-creds", "reader:reader-pass", "oci:\(other.path):v1",
                                                         "docker://\(fixture.hostPort)/team/app:v2"])
            #expect(!push.succeeded, "a pull-only user must not push:\n\(push.output)")
            #expect(push.stderr.contains("denied") || push.stderr.contains("403"), "\(push.output)")
            let delete = try runAllowingFailure("skopeo", ["delete", "--tls-verify=false", "--creds", "reader:reader-pass", reference])
            #expect(!delete.succeeded, "a pull-only user must not delete:\n\(delete.output)")

            // The image is intact and the reader can still pull it.
            let pulled = try run("skopeo", ["inspect", "--raw", "--tls-verify=false", "--creds", "reader:reader-pass", reference])
            #expect(pulled.stdoutBytes == image.manifest.bytes)
            let tags = try run("skopeo", ["list-tags", "--tls-verify=false", "--creds", "reader:reader-pass",
                                          "docker://\(fixture.hostPort)/team/app"])
            #expect(try jsonObject(tags.stdoutBytes)["Tags"] as? [String] == ["v1"])
            #expect(try Self.actors(fixture) == ["pusher"])
        }

        @Test func loginAndCopyWithTheBuiltInTokenEndpoint() throws {
            let fixture = try RegistryFixture("skopeo-token", serveArguments: Self.serveArguments(auth: "  mode: token\n" + Self.rules))
            defer { fixture.tearDown() }
            let authfile = "\(fixture.directory.path)/auth.json"
            let (source, image) = try Self.layout(fixture)
            let reference = "docker://\(fixture.hostPort)/team/app:v1"

            let badLogin = try runAllowingFailure("skopeo", ["login", "--tls-verify=false", "--authfile", authfile,
                                                             "-u", "pusher", "-p", "nope", fixture.hostPort])
            #expect(!badLogin.succeeded, "a wrong password must fail the login:\n\(badLogin.output)")
            let login = try run("skopeo", ["login", "--tls-verify=false", "--authfile", authfile, "-u", "pusher", "-p", "pusher-pass",
                                           fixture.hostPort])
            #expect(login.stdout.contains("Login Succeeded"), "\(login.output)")
            #expect(try String(contentsOfFile: authfile, encoding: .utf8).contains(fixture.hostPort))

            try run("skopeo", ["copy", "--preserve-digests", "--dest-tls-verify=false", "--authfile", authfile, "oci:\(source):v1", reference])
            let pulledPath = "\(fixture.directory.path)/pulled"
            try run("skopeo", ["copy", "--preserve-digests", "--src-tls-verify=false", "--authfile", authfile, reference, "oci:\(pulledPath):v1"])
            let pulled = OCILayoutReader(path: pulledPath)
            #expect(try pulled.descriptor(ref: "v1").digest == image.manifest.digest)
            #expect(try pulled.verifiedDigests() == Set((image.blobs + [image.manifest]).map(\.digest)))
            #expect(try Self.actors(fixture) == ["pusher"])
            #expect(fixture.registry.log().contains("token issued"))
        }

        @Test func anonymousPullWhereARuleAllowsIt() throws {
            let fixture = try RegistryFixture("skopeo-anonymous", serveArguments: Self.serveArguments(auth: "  mode: token\n" + Self.rules))
            defer { fixture.tearDown() }
            let (source, image) = try Self.layout(fixture)
            for name in ["public/app", "private/app"] {
                try run("skopeo", ["copy", "--preserve-digests", "--dest-tls-verify=false", "--dest-creds", "admin:admin-pass",
                                   "oci:\(source):v1", "docker://\(fixture.hostPort)/\(name):v1"])
            }
            let pulledPath = "\(fixture.directory.path)/pulled"
            try run("skopeo", ["copy", "--preserve-digests", "--src-tls-verify=false", "--src-no-creds",
                               "docker://\(fixture.hostPort)/public/app:v1", "oci:\(pulledPath):v1"])
            #expect(try OCILayoutReader(path: pulledPath).descriptor(ref: "v1").digest == image.manifest.digest)

            let refused = try runAllowingFailure("skopeo", ["inspect", "--raw", "--tls-verify=false", "--no-creds",
                                                            "docker://\(fixture.hostPort)/private/app:v1"])
            #expect(!refused.succeeded, "anonymous pull outside public/** must be refused:\n\(refused.output)")
            let anonymousPush = try runAllowingFailure("skopeo", ["copy", "--preserve-digests", "--dest-tls-verify=false", "--dest-no-creds",
                                                                  "oci:\(source):v1", "docker://\(fixture.hostPort)/public/app:v2"])
            #expect(!anonymousPush.succeeded, "anonymous callers may only pull:\n\(anonymousPush.output)")
        }

        /// Tokens live 2 s; the push goes through a proxy that lets ~200 KB/s through, so it
        /// lasts several seconds and skopeo must fetch new tokens between its requests.
        @Test func tokenExpiringMidPushIsRenewed() throws {
            let auth = "  mode: token\n  token:\n    lifetime: 2s\n" + Self.rules
            let fixture = try RegistryFixture("skopeo-expiry", serveArguments: Self.serveArguments(auth: auth))
            defer { fixture.tearDown() }
            let proxy = try ThrottlingProxy(targetPort: fixture.port, bytesPerSecond: 200_000)
            defer { proxy.stop() }
            let (source, image) = try Self.layout(fixture, layerSizes: [300_000, 300_000, 300_000])
            let reference = "docker://\(proxy.hostPort)/team/slow:v1"

            let started = Date()
            try run("skopeo", ["copy", "--preserve-digests", "--dest-tls-verify=false", "--dest-creds", "pusher:pusher-pass",
                               "oci:\(source):v1", reference])
            let elapsed = Date().timeIntervalSince(started)
            #expect(elapsed > 4, "the proxy must make the push outlast two token lifetimes (took \(elapsed) s)")

            let issued = fixture.registry.log().components(separatedBy: "\n").filter {
                $0.contains("token issued") && $0.contains("subject=pusher")
            }
            #expect(issued.count >= 2, "skopeo must have fetched a new token when the first expired; log:\n\(issued.joined(separator: "\n"))")

            let inspected = try run("skopeo", ["inspect", "--raw", "--tls-verify=false", "--creds", "pusher:pusher-pass",
                                               "docker://\(fixture.hostPort)/team/slow:v1"])
            #expect(inspected.stdoutBytes == image.manifest.bytes)
            let stored = try StoreInspector(dataDirectory: fixture.dataDirectory).blobRows()
            #expect(Set(image.blobs.map(\.digest)).isSubset(of: stored))
        }
    }
}
