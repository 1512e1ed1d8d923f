import CNISpec
import Datastore

extension CNIError {
    /// The CNI error of a datastore failure: a record that does not decode is 999 (naming its
    /// key), anything else is transient (11).
    public init(_ error: DatastoreError, _ what: String) {
        if error.code == .malformedRecord {
            self.init(.internal, "\(what): \(error)")
        } else {
            self.init(.tryAgainLater, what, details: "\(error)")
        }
    }
}

/// A datastore failure in IPAMCore's table (`CNIError.fromIPAM(_:_:)`): a record that does not
/// decode is 999 naming its key, anything else transient (11).
extension DatastoreError: CNIErrorConvertible {
    public func cniError(context: String) -> CNIError { CNIError(self, context) }
}
