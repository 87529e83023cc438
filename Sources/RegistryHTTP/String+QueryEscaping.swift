import Foundation
import Hummingbird
import OCI
import RegistryCore

/// Query values put into `Link` and `Location` headers.
extension String {
    var queryEscaped: String {
        var allowed = CharacterSet.urlQueryAllowed
        allowed.remove(charactersIn: "&=+?#")
        return addingPercentEncoding(withAllowedCharacters: allowed) ?? self
    }
}
