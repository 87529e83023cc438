import Foundation
import HTTPTypes
import Testing
import TestSupport

/// A manifest must read the same to the registry as to every client: one with a key
/// twice (Foundation reads the first, Go and JavaScript the last) or not in UTF-8 is
/// refused, so that the layers a client would pull are always the ones the registry
/// protects from deletion and GC.
@Suite("Manifests the registry and its clients would read differently")
struct StrictManifestTests {
    /// Replaces the first `"key":` of the pretty-printed manifest by `"key": value, "key":`.
    static func duplicating(_ key: String, first value: String, in manifest: [UInt8]) -> [UInt8] {
        let text = String(decoding: manifest, as: UTF8.self)
        let range = text.range(of: "\"\(key)\" : ")!
        return Array(text.replacingCharacters(in: range, with: "\"\(key)\" : \(value), \"\(key)\" : ").utf8)
    }

    @Test("a manifest with \"layers\" twice is refused and nothing is stored")
    func duplicateLayers() async throws {
        try await withRegistry { client in
            let image = try await client.pushImage("dup/layers", tag: nil)
            let decoy = try await client.pushBlob("dup/layers", randomBytes(300))
            let decoyLayer = #"[{"mediaType":"\#(Media.ociLayer)","digest":"\#(decoy)","size":300}]"#
            let bytes = Self.duplicating("layers", first: decoyLayer, in: image.manifest)
            let response = try await client.putManifest("dup/layers", "v1", bytes)
            expectError(response, .badRequest, "MANIFEST_INVALID")
            #expect(response.text.contains(#"duplicate key \"layers\""#), "\(response.text)")
            expectHeadError(try await client.head("/v2/dup/layers/manifests/v1"), .notFound)
        }
    }

    @Test("a descriptor with \"digest\" twice (the second never pushed) is refused, naming the key")
    func duplicateDigest() async throws {
        try await withRegistry { client in
            let image = try await client.pushImage("dup/digest", tag: nil)
            let text = String(decoding: image.manifest, as: UTF8.self)
            let layer = image.layers[0].digest
            let bytes = Array(text.replacingOccurrences(of: "\"\(layer)\"", with: "\"\(layer)\", \"digest\" : \"\(unknownDigest())\"").utf8)
            let response = try await client.putManifest("dup/digest", "v1", bytes)
            expectError(response, .badRequest, "MANIFEST_INVALID")
            #expect(response.text.contains(#"layers[0]: duplicate key \"digest\""#), "\(response.text)")
        }
    }

    @Test("an image index with \"manifests\" twice, and a referrer with \"subject\" twice, are refused")
    func indexAndReferrer() async throws {
        try await withRegistry { client in
            let image = try await client.pushImage("dup/index", tag: "base")
            let other = try await client.pushImage("dup/index", tag: "other")
            let index = indexManifest(manifests: [image.descriptor])
            let doubled = Self.duplicating("manifests", first: "[\(String(decoding: jsonBytes(other.descriptor.json), as: UTF8.self))]", in: index)
            let indexResponse = try await client.putManifest("dup/index", "multi", doubled, mediaType: Media.ociIndex)
            expectError(indexResponse, .badRequest, "MANIFEST_INVALID")
            #expect(indexResponse.text.contains(#"duplicate key \"manifests\""#), "\(indexResponse.text)")

            let emptyConfig = try await client.pushBlob("dup/index", Array("{}".utf8))
            let referrer = imageManifest(config: Desc(mediaType: Media.ociEmpty, digest: emptyConfig, size: 2), layers: [],
                                         subject: image.descriptor, artifactType: "application/vnd.example.sbom")
            let subjectJSON = String(decoding: jsonBytes(other.descriptor.json), as: UTF8.self)
            let twoSubjects = Self.duplicating("subject", first: subjectJSON, in: referrer)
            let referrerResponse = try await client.putManifest("dup/index", sha256(twoSubjects), twoSubjects)
            expectError(referrerResponse, .badRequest, "MANIFEST_INVALID")
            #expect(referrerResponse.text.contains(#"duplicate key \"subject\""#), "\(referrerResponse.text)")
            // The same referrer with one subject is accepted: the check refuses only the doubled key.
            #expect(try await client.putManifest("dup/index", sha256(referrer), referrer).status == .created)
        }
    }

    @Test("a key that differs only in case from a field (Go would read it as that field) is refused")
    func caseVariant() async throws {
        try await withRegistry { client in
            let image = try await client.pushImage("dup/case", tag: nil)
            let text = String(decoding: image.manifest, as: UTF8.self)
            let bytes = Array(text.replacingOccurrences(of: "\"layers\"", with: "\"Layers\"").utf8)
            let response = try await client.putManifest("dup/case", "v1", bytes)
            expectError(response, .badRequest, "MANIFEST_INVALID")
            #expect(response.text.contains("Layers"), "\(response.text)")
        }
    }

    @Test("UTF-16 (with and without BOM) and UTF-8 with a BOM are refused; the same manifest in UTF-8 is accepted")
    func encodings() async throws {
        try await withRegistry { client in
            let image = try await client.pushImage("enc/app", tag: nil)
            let text = String(decoding: image.manifest, as: UTF8.self)
            let utf16LE = text.utf16.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
            let utf16BE = text.utf16.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }
            let variants: [(String, [UInt8])] = [
                ("utf-16le with BOM", [0xFF, 0xFE] + utf16LE), ("utf-16be with BOM", [0xFE, 0xFF] + utf16BE),
                ("utf-16le", utf16LE), ("utf-8 with BOM", [0xEF, 0xBB, 0xBF] + image.manifest),
            ]
            for (name, bytes) in variants {
                let response = try await client.putManifest("enc/app", "t", bytes)
                expectError(response, .badRequest, "MANIFEST_INVALID")
                #expect(response.text.contains("UTF-8") || response.text.contains("byte order mark"), "\(name): \(response.text)")
            }
            expectHeadError(try await client.head("/v2/enc/app/manifests/t"), .notFound)
            #expect(try await client.putManifest("enc/app", "t", image.manifest).status == .created)
        }
    }
}
