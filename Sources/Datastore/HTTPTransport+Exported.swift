// The etcd client's endpoints are the shared transport's (HTTPTransport); callers of
// `EtcdDatastore(endpoints:)` and `StoreLocation.etcd` name them without importing it.
@_exported import struct HTTPTransport.HTTPEndpoint
import HTTPTransport

extension DatastoreError {
    /// The transport's failure as the Datastore's error, with the same code, message, errno
    /// and endpoint.
    init(_ error: HTTPTransportError) {
        let code: Code =
            switch error.code {
            case .tlsFailed: .tlsFailed
            case .timedOut: .timedOut
            case .protocolError: .protocolError
            case .invalidURL: .invalidStoreURL
            default: .unavailable
            }
        self.init(code, error.message, errno: error.errno, endpoint: error.endpoint)
    }
}
