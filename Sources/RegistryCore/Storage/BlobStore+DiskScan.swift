import GRDB
import OCI

extension BlobStore {
    /// Every file under `blobs/<alg>/<hh>/` whose name is a valid digest: the disk
    /// walk of `registry-gc --full` and `registry check`.
    func blobFilesOnDisk() -> [Digest] {
        var files: [Digest] = []
        for algorithm in Digest.Algorithm.allCases {
            let root = "\(paths.blobsDirectory)/\(algorithm.rawValue)"
            for shard in DirectoryListing.names(root) {
                for name in DirectoryListing.names("\(root)/\(shard)") {
                    if let digest = Digest("\(algorithm.rawValue):\(name)") { files.append(digest) }
                }
            }
        }
        return files
    }
}
