#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
internal import SystemSupport

/// Starts programs with `posix_spawn`: no shell, no Foundation, explicit environment.
///
/// The child starts in the network namespace of the calling OS thread. That is what a
/// namespace runner relies on to start a CNI plugin or an agent "on a node": call these from a
/// thread that has entered the node's namespace.
public enum ChildProcess {
    /// What a finished run produced.
    public struct Output: Sendable {
        public var status: ExitStatus
        public var standardOutput: [UInt8]
        public var standardError: [UInt8]

        public var standardOutputText: String { String(decoding: standardOutput, as: UTF8.self) }
        public var standardErrorText: String { String(decoding: standardError, as: UTF8.self) }
    }

    /// Where a launched daemon's output goes.
    public enum Redirect: Sendable {
        case null
        case inherit
        /// Appends to the file, creating it (mode 0644).
        case file(String)
    }

    /// Runs `executable` to completion, feeding `standardInput` and collecting both outputs.
    ///
    /// - Parameters:
    ///   - executable: an absolute or relative path (no PATH search; see ``find(_:in:)``).
    ///   - environment: the whole environment of the child; nil inherits the caller's.
    ///   - timeoutMilliseconds: kill the child with SIGKILL and throw ``ChildProcessError/Code/timedOut``
    ///     when it runs longer.
    public static func run(
        _ executable: String,
        arguments: [String] = [],
        environment: [String: String]? = nil,
        standardInput: [UInt8] = [],
        timeoutMilliseconds: Int? = nil
    ) throws(ChildProcessError) -> Output {
        let input = try Pipe(executable)
        let output = try Pipe(executable)
        let errors = try Pipe(executable)
        let pid: pid_t
        do {
            pid = try spawn(
                executable, arguments: arguments, environment: environment,
                stdin: .fd(input.read), stdout: .fd(output.write), stderr: .fd(errors.write))
        } catch {
            input.closeBoth(); output.closeBoth(); errors.closeBoth()
            throw error
        }
        close(input.read); close(output.write); close(errors.write)
        var io = PipeIO(stdin: input.write, stdout: output.read, stderr: errors.read, pending: standardInput)
        let finished = io.pump(timeoutMilliseconds: timeoutMilliseconds)
        io.closeAll()
        if !finished {
            kill(pid, SIGKILL)
            _ = try? waitFor(pid, executable: executable)
            throw ChildProcessError(.timedOut, executable: executable)
        }
        let status = try waitFor(pid, executable: executable)
        return Output(status: status, standardOutput: io.stdoutBytes, standardError: io.stderrBytes)
    }

    /// Starts a long-running child (a daemon) and returns at once.
    public static func launch(
        _ executable: String,
        arguments: [String] = [],
        environment: [String: String]? = nil,
        standardOutput: Redirect = .null,
        standardError: Redirect = .null
    ) throws(ChildProcessError) -> RunningProcess {
        let pid = try spawn(
            executable, arguments: arguments, environment: environment,
            stdin: .path("/dev/null", O_RDONLY), stdout: target(standardOutput, fd: 1),
            stderr: target(standardError, fd: 2))
        return RunningProcess(pid: pid, executable: executable)
    }

    /// The first executable file named `name` in `directories` (CNI_PATH-style search).
    public static func find(_ name: String, in directories: [String]) -> String? {
        for directory in directories where !directory.isEmpty {
            let candidate = directory.hasSuffix("/") ? directory + name : directory + "/" + name
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }

    // MARK: - spawn

    enum Source {
        case fd(Int32)
        case path(String, Int32)
        case inherit
    }

    private static func target(_ redirect: Redirect, fd: Int32) -> Source {
        switch redirect {
        case .null: .path("/dev/null", O_WRONLY)
        case .inherit: .inherit
        case .file(let path): .path(path, O_WRONLY | O_CREAT | O_APPEND)
        }
    }

    static func spawn(
        _ executable: String, arguments: [String], environment: [String: String]?,
        stdin: Source, stdout: Source, stderr: Source
    ) throws(ChildProcessError) -> pid_t {
        guard access(executable, X_OK) == 0 else {
            throw ChildProcessError(.executableNotFound, executable: executable, errno: errno)
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for (source, fd) in [(stdin, Int32(0)), (stdout, 1), (stderr, 2)] {
            switch source {
            case .fd(let from): posix_spawn_file_actions_adddup2(&actions, from, fd)
            case .path(let path, let flags): posix_spawn_file_actions_addopen(&actions, fd, path, flags, 0o644)
            case .inherit: break
            }
        }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // Default signal dispositions and an empty mask in the child, whatever the parent has.
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        let argv = CStringArray([executable] + arguments)
        let envList = (environment ?? currentEnvironment()).map { "\($0.key)=\($0.value)" }
        let envp = CStringArray(envList)
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, &attributes, argv.pointers, envp.pointers)
        argv.deallocate()
        envp.deallocate()
        guard result == 0 else { throw ChildProcessError(.spawnFailed, executable: executable, errno: result) }
        return pid
    }

    static func waitFor(_ pid: pid_t, executable: String) throws(ChildProcessError) -> ExitStatus {
        var status: Int32 = 0
        guard SystemCall.retryingInterrupts({ waitpid(pid, &status, 0) }) >= 0 else {
            throw ChildProcessError(.waitFailed, executable: executable, errno: errno)
        }
        return ExitStatus(waitStatus: status)
    }

    /// The calling process's environment as a dictionary.
    public static func currentEnvironment() -> [String: String] {
        var result: [String: String] = [:]
        var pointer = environ
        while let entry = pointer.pointee {
            let text = String(cString: entry)
            if let equals = text.firstIndex(of: "=") {
                result[String(text[..<equals])] = String(text[text.index(after: equals)...])
            }
            pointer += 1
        }
        return result
    }
}

/// A NULL-terminated array of C strings, freed by `deallocate()`.
struct CStringArray {
    let pointers: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>
    let count: Int

    init(_ strings: [String]) {
        count = strings.count
        pointers = .allocate(capacity: strings.count + 1)
        for (index, string) in strings.enumerated() { pointers[index] = strdup(string) }
        pointers[strings.count] = nil
    }

    func deallocate() {
        for index in 0..<count { free(pointers[index]) }
        pointers.deallocate()
    }
}
