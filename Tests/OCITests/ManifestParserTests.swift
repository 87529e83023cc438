import OCI
import Testing

@Suite("Manifest parsing and reference extraction")
struct ManifestParserTests {
    static let config = "sha256:" + String(repeating: "c", count: 64)
    static let layer1 = "sha256:" + String(repeating: "1", count: 64)
    static let layer2 = "sha256:" + String(repeating: "2", count: 64)
    static let child = "sha256:" + String(repeating: "d", count: 64)

    func parse(_ json: String, _ contentType: String? = nil) throws(ManifestParseError) -> ParsedManifest {
        try ManifestParser.parse(Array(json.utf8), contentType: contentType)
    }

    static func image(mediaType: String? = MediaType.ociManifest, configType: String = "application/vnd.oci.image.config.v1+json",
                      extra: String = "") -> String {
        """
        {"schemaVersion":2,\(mediaType.map { "\"mediaType\":\"\($0)\"," } ?? "")
         "config":{"mediaType":"\(configType)","digest":"\(config)","size":7},
         "layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"\(layer1)","size":10},
                   {"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"\(layer2)","size":20},
                   {"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"\(layer1)","size":10}]\(extra)}
        """
    }

    @Test("OCI image manifest: config and unique layers are the blobs")
    func ociImage() throws {
        let parsed = try parse(Self.image(), MediaType.ociManifest)
        #expect(parsed.mediaType == MediaType.ociManifest)
        #expect(parsed.blobs.map(\.description) == [Self.config, Self.layer1, Self.layer2])
        #expect(parsed.children.isEmpty)
        #expect(parsed.subject == nil)
        #expect(parsed.artifactType == "application/vnd.oci.image.config.v1+json")
    }

    @Test("media type is taken from the body when Content-Type is generic, inferred when absent")
    func mediaTypeResolution() throws {
        #expect(try parse(Self.image(), nil).mediaType == MediaType.ociManifest)
        #expect(try parse(Self.image(mediaType: nil), "application/json").mediaType == MediaType.ociManifest)
        let index = #"{"schemaVersion":2,"manifests":[]}"#
        #expect(try parse(index).mediaType == MediaType.ociIndex)
    }

    @Test("Docker schema2 manifest and manifest list")
    func docker() throws {
        let manifest = try parse(Self.image(mediaType: MediaType.dockerManifest,
                                            configType: "application/vnd.docker.container.image.v1+json"), MediaType.dockerManifest)
        #expect(manifest.blobs.count == 3)
        #expect(manifest.artifactType == nil)
        let list = """
            {"schemaVersion":2,"mediaType":"\(MediaType.dockerManifestList)","manifests":[
             {"mediaType":"\(MediaType.dockerManifest)","digest":"\(Self.child)","size":5,"platform":{"architecture":"amd64","os":"linux"}}]}
            """
        let parsed = try parse(list, MediaType.dockerManifestList)
        #expect(parsed.isIndex)
        #expect(parsed.children.map(\.description) == [Self.child])
        #expect(parsed.blobs.isEmpty)
    }

    @Test("artifact with subject and artifactType")
    func artifact() throws {
        let json = Self.image(configType: MediaType.ociEmpty, extra: """
            ,"artifactType":"application/vnd.example.sbom","subject":{"mediaType":"\(MediaType.ociManifest)","digest":"\(Self.child)","size":3}
            """)
        let parsed = try parse(json, MediaType.ociManifest)
        #expect(parsed.artifactType == "application/vnd.example.sbom")
        #expect(parsed.subject?.digest.description == Self.child)
    }

    @Test("foreign layers with urls are not required blobs")
    func foreignLayer() throws {
        let json = """
            {"schemaVersion":2,"mediaType":"\(MediaType.dockerManifest)",
             "config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"\(Self.config)","size":7},
             "layers":[{"mediaType":"\(MediaType.dockerForeignLayer)","digest":"\(Self.layer1)","size":10,"urls":["https://example.com/l"]}]}
            """
        #expect(try parse(json, MediaType.dockerManifest).blobs.map(\.description) == [Self.config])
    }

    @Test("invalid manifests are refused with a reason", arguments: [
        "not json", "{}", "[]", #"{"schemaVersion":2}"#, #"{"schemaVersion":3,"manifests":[]}"#,
        #"{"schemaVersion":2,"config":{"mediaType":"a/b","digest":"sha256:abc","size":1},"layers":[]}"#,
        #"{"schemaVersion":2,"config":{"mediaType":"a/b","size":1},"layers":[]}"#,
        #"{"schemaVersion":2,"config":{"mediaType":"a/b","digest":"\#(config)","size":-1},"layers":[]}"#,
        #"{"schemaVersion":2,"config":{"mediaType":"nonsense","digest":"\#(config)","size":1},"layers":[]}"#,
        #"{"schemaVersion":2,"config":{"mediaType":"a/b","digest":"\#(config)","size":1},"layers":"x"}"#,
        #"{"schemaVersion":2,"manifests":[{"mediaType":"a/b","digest":"nope","size":1}]}"#,
        #"{"schemaVersion":1,"name":"x","tag":"y","fsLayers":[]}"#,
    ])
    func invalid(_ json: String) {
        #expect(throws: ManifestParseError.self) { try parse(json) }
    }

    @Test("Content-Type that contradicts the body's mediaType is refused")
    func mismatch() {
        #expect(throws: ManifestParseError.self) { try parse(Self.image(), MediaType.dockerManifest) }
        #expect(throws: ManifestParseError.self) { try parse(Self.image(), "application/vnd.docker.distribution.manifest.v1+prettyjws") }
        #expect(throws: ManifestParseError.self) { try parse(Self.image(), "text/plain") }
    }
}
