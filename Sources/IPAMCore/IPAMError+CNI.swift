import CNISpec

/// The one table from IPAM failures (IPAM adds the datastore's) to the CNI error a runtime sees, with the
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
}

/// An error of a layer under the IPAM (a datastore) that knows its CNI error; IPAM makes
/// `DatastoreError` one, so `CNIError.fromIPAM(_:_:)` stays the one table.
public protocol CNIErrorConvertible: Error {
    /// The CNI error a runtime sees; `context` says what failed.
    func cniError(context: String) -> CNIError
}

extension CNIError {
    /// Any error of an IPAM call as a CNI error: a `CNIError` as is, an ``IPAMError`` by the
    /// table, a ``CNIErrorConvertible`` (a datastore failure) as it says, anything else 999.
    public static func fromIPAM(_ error: any Error, _ what: String = "IPAM failed") -> CNIError {
        switch error {
        case let error as CNIError: error
        case let error as IPAMError: CNIError(error)
        case let error as any CNIErrorConvertible: error.cniError(context: what)
        default: CNIError(.internal, what, details: "\(error)")
        }
    }
}

/// `CNIError.fromIPAM(_:_:)` under a short name for this module.
func cniError(_ error: any Error, _ what: String = "IPAM failed") -> CNIError {
    CNIError.fromIPAM(error, what)
}
