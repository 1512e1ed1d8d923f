#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
internal import CLinuxShim

/// A close-on-exec pipe.
struct Pipe {
    let read: Int32
    let write: Int32

    init(_ executable: String) throws(ChildProcessError) {
        var fds: [Int32] = [-1, -1]
        guard cnishim_pipe_cloexec(&fds) == 0 else {
            throw ChildProcessError(.pipeFailed, executable: executable, errno: errno)
        }
        read = fds[0]
        write = fds[1]
    }

    func closeBoth() {
        close(read)
        close(write)
    }
}

/// Writes the child's stdin and drains its stdout and stderr with poll(2), so neither side
/// blocks on a full pipe.
struct PipeIO {
    var stdin: Int32
    var stdout: Int32
    var stderr: Int32
    var pending: [UInt8]
    var written = 0
    var stdoutBytes: [UInt8] = []
    var stderrBytes: [UInt8] = []

    init(stdin: Int32, stdout: Int32, stderr: Int32, pending: [UInt8]) {
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr
        self.pending = pending
        _ = fcntl(stdin, F_SETFL, fcntl(stdin, F_GETFL) | O_NONBLOCK)
        if pending.isEmpty { closeStdin() }
    }

    /// Runs until both outputs reach end of file; false when the timeout passed first.
    mutating func pump(timeoutMilliseconds: Int?) -> Bool {
        let deadline = timeoutMilliseconds.map { monotonicMilliseconds() + $0 }
        var buffer = [UInt8](repeating: 0, count: 65536)
        while stdout >= 0 || stderr >= 0 {
            var fds: [pollfd] = []
            if stdin >= 0 { fds.append(pollfd(fd: stdin, events: Int16(POLLOUT), revents: 0)) }
            if stdout >= 0 { fds.append(pollfd(fd: stdout, events: Int16(POLLIN), revents: 0)) }
            if stderr >= 0 { fds.append(pollfd(fd: stderr, events: Int16(POLLIN), revents: 0)) }
            var wait: Int32 = -1
            if let deadline {
                let left = deadline - monotonicMilliseconds()
                if left <= 0 { return false }
                wait = Int32(min(left, Int(Int32.max)))
            }
            let ready = poll(&fds, nfds_t(fds.count), wait)
            if ready < 0 {
                if errno == EINTR { continue }
                return true
            }
            for entry in fds where entry.revents != 0 {
                if entry.fd == stdin {
                    let count = pending.withUnsafeBytes { raw in
                        Glibc.write(stdin, raw.baseAddress! + written, raw.count - written)
                    }
                    if count > 0 { written += count }
                    if count < 0 && errno != EAGAIN && errno != EINTR || written == pending.count { closeStdin() }
                } else {
                    let count = buffer.withUnsafeMutableBytes { Glibc.read(entry.fd, $0.baseAddress!, $0.count) }
                    if count > 0 {
                        if entry.fd == stdout { stdoutBytes += buffer[0..<count] } else { stderrBytes += buffer[0..<count] }
                    } else if count == 0 || (errno != EINTR && errno != EAGAIN) {
                        close(entry.fd)
                        if entry.fd == stdout { stdout = -1 } else { stderr = -1 }
                    }
                }
            }
        }
        return true
    }

    mutating func closeStdin() {
        if stdin >= 0 { close(stdin) }
        stdin = -1
    }

    mutating func closeAll() {
        closeStdin()
        if stdout >= 0 { close(stdout) }
        if stderr >= 0 { close(stderr) }
        stdout = -1
        stderr = -1
    }
}

func monotonicMilliseconds() -> Int {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return now.tv_sec * 1000 + now.tv_nsec / 1_000_000
}
