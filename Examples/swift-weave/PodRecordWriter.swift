import CNISpec
import IPAM

extension PodRecordWriter {
    /// The writer for swift-weave's `datastore` and `nodeName` settings; nil without them.
    init?(options: WeaveOptions) throws(CNIError) {
        guard let location = options.datastore, let node = options.nodeName else { return nil }
        try self.init(location: location, node: node)
    }
}
