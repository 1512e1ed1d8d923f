#if canImport(Glibc)
import Glibc
#endif

extension NetlinkSocket {
    /// The interface index of `name` in the socket's namespace, or nil (no such device, or the
    /// name does not fit): `SIOCGIFINDEX` on the netlink socket itself.
    ///
    /// A netlink socket has no ioctls of its own, so the kernel hands the request to the
    /// device layer of the socket's network namespace (not the calling thread's): the same
    /// answer as `RTM_GETLINK` without building and parsing a full link message (about
    /// 1.5 kB per device). Callers fall back to `RTM_GETLINK` for the error when this is nil.
    func interfaceIndex(of name: String) -> Int? {
        let bytes = Array(name.utf8)
        var request = ifreq()
        guard !bytes.isEmpty, bytes.count < MemoryLayout.size(ofValue: request.ifr_ifrn.ifrn_name) else { return nil }
        withUnsafeMutableBytes(of: &request.ifr_ifrn.ifrn_name) { raw in
            raw.copyBytes(from: bytes)
        }
        let status = withUnsafeMutablePointer(to: &request) { ioctl(descriptor, UInt(SIOCGIFINDEX), $0) }
        guard status == 0 else { return nil }
        let index = Int(request.ifr_ifru.ifru_ivalue)
        return index > 0 ? index : nil
    }
}
