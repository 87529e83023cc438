import Foundation
import NIOCore
import RegistryCore
@testable import RegistryHTTP
import Testing

@Suite("List bodies are valid JSON")
struct ListJSONTests {
    func decode(_ buffer: ByteBuffer) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(buffer.readableBytesView)) as? [String: Any])
    }

    @Test func tagList() throws {
        let object = try decode(ListJSON.tagList(name: "a/b", tags: ["1.0", "latest"]))
        #expect(object["name"] as? String == "a/b")
        #expect(object["tags"] as? [String] == ["1.0", "latest"])
        let empty = try decode(ListJSON.tagList(name: "x", tags: []))
        #expect(empty["tags"] as? [String] == [])
    }

    @Test func catalogEscapesAnyText() throws {
        let odd = ["quote\"back\\slash", "tab\tnewline\n", "ünïcode"]
        let object = try decode(ListJSON.catalog(NameList(odd)))
        #expect(object["repositories"] as? [String] == odd)
    }
}
