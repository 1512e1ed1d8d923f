import CNISpec
import Datastore

/// The one table from IPAM (and Datastore) failures to the CNI error a runtime sees, with the
/// CNI specification's codes: 7 invalid network configuration, 4 invalid environment
/// variables, 5 I/O failure, 11 try again later (transient: the datastore, contention, no
/// subnet yet), 999 for the rest (exhausted, unavailable requested address, corrupt record).
extension IPAMError {
    /// The CNI error code of this failure.
    public var cniCode: CNIError.Code {
        switch code {
        case .invalidConfiguration: .invalidNetworkConfig
        case .invalidIdentifier: .invalidEnvironmentVariables
        case .ioFailed: .ioFailure
        case .datastoreFailed, .contention, .notReady: .tryAgainLater
        default: .internal
        }
    }
}

extension CNIError {
    /// The CNI error of an IPAM failure (``IPAMError/cniCode``; message and details kept).
    public init(_ error: IPAMError) {
        self.init(error.cniCode, error.message, details: error.underlying ?? error.errno.map { "errno \($0)" })
    }

    /// The CNI error of a datastore failure: a record that does not decode is 999 (naming its
    /// key), anything else is transient (11).
    public init(_ error: DatastoreError, _ what: String) {
        if error.code == .malformedRecord {
            self.init(.internal, "\(what): \(error)")
        } else {
            self.init(.tryAgainLater, what, details: "\(error)")
        }
    }

    /// Any error of an IPAM or datastore call as a CNI error: a `CNIError` as is, an
    /// ``IPAMError`` or `DatastoreError` by the table, anything else 999.
    public static func fromIPAM(_ error: any Error, _ what: String = "IPAM failed") -> CNIError {
        switch error {
        case let error as CNIError: error
        case let error as IPAMError: CNIError(error)
        case let error as DatastoreError: CNIError(error, what)
        default: CNIError(.internal, what, details: "\(error)")
        }
    }
}
