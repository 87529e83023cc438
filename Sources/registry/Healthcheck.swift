import ArgumentParser
import AsyncHTTPClient
import Foundation

/// `registry healthcheck --url URL`: one GET, for container HEALTHCHECKs in an image
/// that has no curl. Exit 0 on 200, 1 otherwise (no answer in time included).
struct Healthcheck: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "GET a URL (default the readiness endpoint) and exit 0 on 200, 1 otherwise: a HEALTHCHECK without curl.",
        discussion: "Point it at the server's listener on the loopback address (http://, or https:// with a certificate the system trusts)."
    )

    @Option(name: .long, help: "The URL to GET, http://HOST:PORT/PATH.")
    var url = "http://127.0.0.1:5000/readyz"

    @Option(name: .long, help: "Give up after this many seconds.")
    var timeout: Int = 5

    func run() async throws {
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "User-Agent", value: "registry-healthcheck")
        let status: UInt
        do {
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(Int64(max(1, timeout))))
            status = response.status.code
        } catch {
            FileHandle.standardError.write(Data("registry healthcheck: \(url): \(error)\n".utf8))
            throw ExitCode.failure
        }
        print("\(url): HTTP \(status)")
        guard status == 200 else { throw ExitCode.failure }
    }
}
