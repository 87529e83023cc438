import NIOCore
import RegistryCore

/// The tags-list and catalog bodies, written straight into bytes: a list of
/// 10,000 tags is the registry's largest JSON response, and Foundation's encoder
/// spent most of that request's time on it. The JSON is assembled in a byte array
/// and copied into the buffer once: appending to an array is cheaper per call than
/// `ByteBuffer`'s writes, and a list makes four appends per name.
enum ListJSON {
    static func tagList(name: String, tags: NameList) -> ByteBuffer {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(32 + name.utf8.count + tags.utf8.count + 3 * tags.count)
        append(#"{"name":"#, to: &bytes)
        writeString(name, to: &bytes)
        append(#","tags":"#, to: &bytes)
        writeArray(tags, to: &bytes)
        bytes.append(UInt8(ascii: "}"))
        return ByteBuffer(bytes: bytes)
    }

    static func catalog(_ repositories: NameList) -> ByteBuffer {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(24 + repositories.utf8.count + 3 * repositories.count)
        append(#"{"repositories":"#, to: &bytes)
        writeArray(repositories, to: &bytes)
        bytes.append(UInt8(ascii: "}"))
        return ByteBuffer(bytes: bytes)
    }

    private static func append(_ literal: StaticString, to bytes: inout [UInt8]) {
        literal.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    private static func writeArray(_ names: NameList, to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "["))
        names.utf8.withUnsafeBufferPointer { all in
            for index in names.indices {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                writeString(UnsafeBufferPointer(rebasing: all[names.bytes(index)]), to: &bytes)
            }
        }
        bytes.append(UInt8(ascii: "]"))
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// A JSON string. Names and tags never need escaping (their grammar allows only
    /// `[A-Za-z0-9._/-]`), but escaping is kept correct for any text.
    static func writeString(_ value: String, to bytes: inout [UInt8]) {
        var value = value
        value.withUTF8 { writeString($0, to: &bytes) }
    }

    static func writeString(_ utf8: UnsafeBufferPointer<UInt8>, to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "\""))
        if utf8.allSatisfy({ $0 >= 0x20 && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }) {
            bytes.append(contentsOf: utf8)
        } else {
            for byte in utf8 {
                switch byte {
                case UInt8(ascii: "\""): append("\\\"", to: &bytes)
                case UInt8(ascii: "\\"): append("\\\\", to: &bytes)
                case 0..<0x20:
                    append("\\u00", to: &bytes)
                    bytes.append(hexDigits[Int(byte >> 4)])
                    bytes.append(hexDigits[Int(byte & 0xf)])
                default: bytes.append(byte)
                }
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}
