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

    static let layer = #"{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"\#(layer1)","size":10}"#
    static let layerB = #"{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"\#(layer2)","size":20}"#
    static let configJSON = #"{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"\#(config)","size":7}"#

    /// Each of these reads differently to Foundation (first key wins, exact case) and to
    /// Go or JavaScript clients (last key wins; Go matches fields without regard to case).
    @Test("a key twice, or two keys a client reads as one, is refused naming the key", arguments: [
        (#"{"schemaVersion":2,"config":\#(configJSON),"layers":[\#(layer)],"layers":[\#(layerB)]}"#, #"duplicate key "layers""#),
        (#"{"schemaVersion":2,"config":\#(configJSON),"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"\#(layer1)","digest":"\#(layer2)","size":10}]}"#,
         #"layers[0]: duplicate key "digest""#),
        (#"{"schemaVersion":2,"schemaVersion":2,"config":\#(configJSON),"layers":[]}"#, #"duplicate key "schemaVersion""#),
        (#"{"schemaVersion":2,"config":\#(configJSON),"layers":[],"annotations":{"a":"1","a":"2"}}"#, #"annotations: duplicate key "a""#),
        (#"{"schemaVersion":2,"config":\#(configJSON),"layers":[],"l\u0061yers":[\#(layerB)]}"#, #"duplicate key "layers""#),
        (#"{"schemaVersion":2,"config":\#(configJSON),"layers":[\#(layer)],"Layers":[\#(layerB)]}"#, #"keys "layers" and "Layers" differ only in case"#),
        (#"{"schemaVersion":2,"config":\#(configJSON),"LAYERS":[\#(layerB)]}"#, #"key "LAYERS" is not "layers""#),
        (#"{"schemaVersion":2,"config":{"mediaType":"a/b","digest":"\#(config)","size":7,"\u017Fize":9},"layers":[]}"#, #"config: keys "size" and "ſize""#),
        (#"{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"\#(child)","size":5,"platform":{"os":"linux","os":"windows","architecture":"amd64"}}]}"#,
         #"manifests[0].platform: duplicate key "os""#),
        (#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"\#(child)","size":5}],"manifests":[]}"#,
         #"duplicate key "manifests""#),
        (#"{"schemaVersion":2,"config":\#(configJSON),"layers":[],"subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"\#(child)","digest":"\#(layer1)","size":3}}"#,
         #"subject: duplicate key "digest""#),
        (#"{"schemaVersion":2,"config":\#(configJSON),"layers":[],"x":{"deep":[{"k":1,"k":2}]}}"#, #"x.deep[0]: duplicate key "k""#),
    ])
    func duplicateKeys(_ json: String, _ message: String) {
        #expect(throws: ManifestParseError.self) { try parse(json) }
        do { _ = try parse(json) } catch {
            guard case .invalid(let text) = error else { Issue.record("\(error)"); return }
            #expect(text.contains(message), "\(text)")
        }
    }

    @Test("keys that only look alike to a person are not duplicates; annotation keys keep their case")
    func distinctKeys() throws {
        let json = #"{"schemaVersion":2,"config":\#(Self.configJSON),"layers":[\#(Self.layer)],"annotations":{"a":"1","A":"2","a.b":"3"},"x":{"k":1,"K":2}}"#
        #expect(try parse(json).annotations == ["a": "1", "A": "2", "a.b": "3"])
    }

    @Test("JSON that is not UTF-8 without a byte order mark is refused", arguments: ["utf8-bom", "utf16le-bom", "utf16be-bom", "utf16le", "utf16be", "invalid-utf8"])
    func encodings(_ encoding: String) {
        let text = Self.image()
        var bytes: [UInt8]
        switch encoding {
        case "utf8-bom": bytes = [0xEF, 0xBB, 0xBF] + Array(text.utf8)
        case "utf16le-bom": bytes = [0xFF, 0xFE] + text.utf16.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
        case "utf16be-bom": bytes = [0xFE, 0xFF] + text.utf16.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }
        case "utf16le": bytes = text.utf16.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
        case "utf16be": bytes = text.utf16.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }
        default: bytes = Array(#"{"x":""#.utf8) + [0xC3, 0x28] + Array(#"","#.utf8) + Array(text.utf8.dropFirst())
        }
        #expect(throws: ManifestParseError.self) { try ManifestParser.parse(bytes, contentType: MediaType.ociManifest) }
    }

    @Test("the scanner accepts every JSON form a manifest may use", arguments: [
        #"{"schemaVersion":2,"config":\#(configJSON),"layers":[],"x":[true,false,null,-0,1.5e+3,2E-2,0.25,"\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00"]}"#,
        " \n\t{ \"schemaVersion\" : 2 , \"config\" : \(configJSON) , \"layers\" : [ ] }\r\n",
        #"{"schemaVersion":2,"config":\#(configJSON),"layers":[],"annotations":{"é":"ü","😀":"\ud83d\ude00"}}"#,
    ])
    func validJSON(_ json: String) throws {
        #expect(try parse(json).blobs.map(\.description) == [Self.config])
    }

    @Test("malformed JSON is refused by the scanner", arguments: [
        #"{"schemaVersion":2,}"#, #"{"schemaVersion":02}"#, #"{"schemaVersion":2"#, #"{"a":"\x"}"#, #"{"a":tru}"#,
        #"{"a":1} x"#, "{\"a\":\"\u{01}\"}", #"{"a":-}"#, #"{"a":1.}"#, #"{"a":"\u12"}"#,
        String(repeating: "[", count: 600) + String(repeating: "]", count: 600),
        #"{"schemaVersion":2,"config":{"mediaType":"a/b","digest":"sha256:\#(String(repeating: "c", count: 64))","size":7},"layers":[],"annotations":{"a":"\ud800"}}"#,
    ])
    func malformed(_ json: String) {
        #expect(throws: ManifestParseError.self) { try parse(json) }
    }
}
