import TestSupport
import Foundation
import OCI
@testable import RegistryCore

/// A small store with a known history, built through the registry facade with
/// several actors: what docs/audit.md's queries run against.
struct AuditFixture {
    let directory: TemporaryDirectory
    let registry: Registry

    static func actor(_ name: String, _ address: String, _ agent: String) -> AuditContext {
        AuditContext(actor: name, clientAddress: address, userAgent: agent, requestID: "req-\(name)")
    }

    static let alice = actor("alice", "10.0.0.11", "docker/27.3.1")
    static let bob = actor("bob", "10.0.0.12", "podman/4.3.1")
    static let ci = actor("ci-deploy", "10.0.0.50", "containerd/1.7.24")

    init() async throws {
        directory = try TemporaryDirectory()
        var configuration = RegistryConfiguration()
        configuration.dataDirectory = directory.path
        configuration.syncWrites = false
        configuration.gcDelay = .milliseconds(1)
        registry = try Registry.open(configuration: configuration)
        try await populate()
    }

    /// Deterministic bytes of a given size.
    static func bytes(_ seed: UInt8, _ count: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ Int(seed)) }
    }

    func pushBlob(_ repository: String, _ bytes: [UInt8], by audit: AuditContext) async throws -> Descriptor {
        let name = RepositoryName(repository)!
        let digest = Digest.of(bytes)
        _ = try await registry.pushBlob(name, digest: digest, length: Int64(bytes.count), body: UploadBody(bytes), audit: audit)
        return Descriptor(mediaType: "application/vnd.oci.image.layer.v1.tar", digest: digest, size: Int64(bytes.count))
    }

    @discardableResult
    func pushImage(_ repository: String, tag: String, config: [UInt8], layers: [[UInt8]], by audit: AuditContext) async throws -> Digest {
        let configDescriptor = try await pushBlob(repository, config, by: audit)
        var layerDescriptors: [Descriptor] = []
        for layer in layers { layerDescriptors.append(try await pushBlob(repository, layer, by: audit)) }
        let layerJSON = layerDescriptors.map {
            #"{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"\#($0.digest)","size":\#($0.size)}"#
        }.joined(separator: ",")
        let manifest = #"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"\#(configDescriptor.digest)","size":\#(configDescriptor.size)},"layers":[\#(layerJSON)]}"#
        let result = try await registry.putManifest(
            RepositoryName(repository)!, reference: .tag(Tag(tag)!), payload: Array(manifest.utf8),
            contentType: MediaType.ociManifest, audit: audit)
        return result.digest
    }

    func pull(_ repository: String, _ tag: String, by audit: AuditContext) async throws {
        let name = RepositoryName(repository)!
        let manifest = try await registry.manifest(name, .tag(Tag(tag)!))
        registry.recordPull(name, .tag(Tag(tag)!), digest: manifest.digest, audit: audit)
    }

    private func populate() async throws {
        let base = Self.bytes(1, 3000)
        try await pushImage("team/app", tag: "v1", config: Self.bytes(10, 120), layers: [base, Self.bytes(2, 1500)], by: Self.alice)
        try await pushImage("team/app", tag: "latest", config: Self.bytes(10, 120), layers: [base, Self.bytes(2, 1500)], by: Self.alice)
        try await pushImage("team/app", tag: "v2", config: Self.bytes(11, 130), layers: [base, Self.bytes(3, 2500)], by: Self.bob)
        try await pushImage("team/app", tag: "latest", config: Self.bytes(11, 130), layers: [base, Self.bytes(3, 2500)], by: Self.bob)
        let old = try await pushImage("team/app", tag: "old", config: Self.bytes(12, 90), layers: [Self.bytes(4, 800)], by: Self.alice)
        try await pushImage("team/tools", tag: "1.0", config: Self.bytes(13, 100), layers: [base, Self.bytes(5, 600)], by: Self.bob)
        try await pull("team/app", "latest", by: Self.ci)
        try await pull("team/app", "latest", by: Self.ci)
        try await pull("team/tools", "1.0", by: Self.ci)
        try await registry.pulls.flush()
        try await registry.deleteManifest(RepositoryName("team/app")!, .tag(Tag("old")!), audit: Self.alice)
        try await registry.deleteManifest(RepositoryName("team/app")!, .digest(old), audit: Self.alice)
        try await Task.sleep(for: .milliseconds(20))
        var options = registry.configuration.gcOptions
        options.delay = .milliseconds(1)
        _ = try await GarbageCollector(registry: registry).run(options)
    }
}
