#if canImport(Glibc)
import Glibc
#endif
internal import CLinuxShim

extension ChildProcess {
    /// Asks the kernel to send `signal` to this process when the thread that spawned it exits
    /// (or its whole parent process dies): prctl `PR_SET_PDEATHSIG`, the child's side of a
    /// supervisor/child pair. The setting belongs to the calling thread's relation to the
    /// parent, so call it from a thread that lives as long as the process, not from a task that
    /// may move between pool threads. Throws with the errno when the kernel refuses.
    public static func requestSignalOnParentDeath(_ signal: Int32) throws(ChildProcessError) {
        guard cnishim_set_parent_death_signal(signal) == 0 else {
            throw ChildProcessError(.parentDeathSignalFailed, executable: "prctl(PR_SET_PDEATHSIG)", errno: errno)
        }
    }
}

extension ChildProcessError.Code {
    /// `ChildProcess.requestSignalOnParentDeath` failed.
    public static let parentDeathSignalFailed = ChildProcessError.Code("parent death signal failed")
}
