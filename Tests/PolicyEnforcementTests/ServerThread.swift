#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// The echo loop of an ``EchoServer`` on its own pthread: accepts TCP connections and echoes
/// what they send; echoes UDP datagrams to their sender. Closes everything when stopped.
/// Shared stop/finished flags of a server thread.
final class StopFlag: Sendable {
    let stopped = Atomic<Bool>(false)
    let finished = Atomic<Bool>(false)
}

final class ServerThread: @unchecked Sendable {
    // @unchecked Sendable: the descriptors are only touched by the server thread after start().
    private let listeners: [(Int32, Bool)]
    private let flag: StopFlag

    init(listeners: [(Int32, Bool)], flag: StopFlag) {
        self.listeners = listeners
        self.flag = flag
    }

    func start() {
        var thread = pthread_t()
        let context = Unmanaged.passRetained(self).toOpaque()
        pthread_create(&thread, nil, { context in
            let server = Unmanaged<ServerThread>.fromOpaque(context!).takeRetainedValue()
            server.loop()
            return nil
        }, context)
        pthread_detach(thread)
    }

    private func loop() {
        var connections: [Int32] = []
        var buffer = [UInt8](repeating: 0, count: 2048)
        while !flag.stopped.load(ordering: .sequentiallyConsistent) {
            var descriptors = listeners.map { pollfd(fd: $0.0, events: Int16(POLLIN), revents: 0) }
                + connections.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            guard poll(&descriptors, nfds_t(descriptors.count), 20) > 0 else { continue }
            for (position, descriptor) in descriptors.enumerated() where descriptor.revents != 0 {
                if position < listeners.count {
                    let (fd, isStream) = listeners[position]
                    if isStream {
                        let connection = accept(fd, nil, nil)
                        if connection >= 0 { connections.append(connection) }
                    } else {
                        var peer = sockaddr_storage()
                        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
                        let count = withUnsafeMutablePointer(to: &peer) {
                            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, &buffer, buffer.count, 0, $0, &length) }
                        }
                        if count > 0 {
                            _ = withUnsafePointer(to: &peer) {
                                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, buffer, count, 0, $0, length) }
                            }
                        }
                    }
                } else {
                    let fd = descriptor.fd
                    let count = recv(fd, &buffer, buffer.count, 0)
                    if count > 0 {
                        _ = send(fd, buffer, count, Int32(MSG_NOSIGNAL))
                    } else {
                        close(fd)
                        connections.removeAll { $0 == fd }
                    }
                }
            }
        }
        for fd in connections { close(fd) }
        for (fd, _) in listeners { close(fd) }
        flag.finished.store(true, ordering: .sequentiallyConsistent)
    }
}
