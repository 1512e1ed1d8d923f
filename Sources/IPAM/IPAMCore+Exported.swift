// The allocation model, host-local and the CNI glue live in IPAMCore (no Datastore, no
// logging); `import IPAM` brings them along with the cluster allocators.
@_exported import IPAMCore
