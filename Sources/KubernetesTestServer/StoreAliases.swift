import Datastore

/// The Datastore's watch event, named apart from the Kubernetes module's `WatchEvent` (this
/// file imports only Datastore, so the name is unambiguous here).
typealias StoreWatchEvent = WatchEvent
