import NIOCore

/// The tags-list and catalog bodies, written straight into a buffer: a list of
/// 10,000 tags is the registry's largest JSON response, and Foundation's encoder
/// spent most of that request's time on it.
enum ListJSON {
    static func tagList(name: String, tags: [String]) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(32 + name.utf8.count + tags.reduce(0) { $0 + $1.utf8.count + 3 })
        buffer.writeStaticString(#"{"name":"#)
        writeString(name, to: &buffer)
        buffer.writeStaticString(#","tags":"#)
        writeArray(tags, to: &buffer)
        buffer.writeStaticString("}")
        return buffer
    }

    static func catalog(_ repositories: [String]) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(24 + repositories.reduce(0) { $0 + $1.utf8.count + 3 })
        buffer.writeStaticString(#"{"repositories":"#)
        writeArray(repositories, to: &buffer)
        buffer.writeStaticString("}")
        return buffer
    }

    private static func writeArray(_ values: [String], to buffer: inout ByteBuffer) {
        buffer.writeStaticString("[")
        for (index, value) in values.enumerated() {
            if index > 0 { buffer.writeStaticString(",") }
            writeString(value, to: &buffer)
        }
        buffer.writeStaticString("]")
    }

    /// A JSON string. Names and tags never need escaping (their grammar allows only
    /// `[A-Za-z0-9._/-]`), but escaping is kept correct for any text.
    static func writeString(_ value: String, to buffer: inout ByteBuffer) {
        buffer.writeStaticString("\"")
        if value.utf8.allSatisfy({ $0 >= 0x20 && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }) {
            buffer.writeString(value)
        } else {
            for byte in value.utf8 {
                switch byte {
                case UInt8(ascii: "\""): buffer.writeStaticString("\\\"")
                case UInt8(ascii: "\\"): buffer.writeStaticString("\\\\")
                case 0..<0x20:
                    let hex = Array("0123456789abcdef".utf8)
                    buffer.writeBytes([UInt8(ascii: "\\"), UInt8(ascii: "u"), 0x30, 0x30, hex[Int(byte >> 4)], hex[Int(byte & 0xf)]])
                default: buffer.writeInteger(byte)
                }
            }
        }
        buffer.writeStaticString("\"")
    }
}
