import ChildProcess
import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// `--parent-pid PID`: this process ends (SIGTERM, so a graceful stop) when its supervisor
/// does, even when the supervisor is killed with SIGKILL and cannot stop it itself.
///
/// A thread that lives as long as the process asks the kernel for SIGTERM on the parent's
/// death (prctl `PR_SET_PDEATHSIG`; the setting belongs to the thread that makes it, so it is
/// not made from a task that may move between pool threads). It then compares `getppid()`
/// with `PID`: a parent that died before the request was made has already handed this process
/// to another reaper, and no signal would come. The same comparison every 500 ms backs the
/// kernel's signal up.
enum ParentWatch {
    static func start(expectedParent: Int32, logger: Logger) {
        let thread = Thread {
            do {
                try ChildProcess.requestSignalOnParentDeath(SIGTERM)
            } catch {
                logger.warning("\(error); checking the parent every 500 ms only")
            }
            while true {
                if getppid() != expectedParent {
                    logger.warning("parent process \(expectedParent) is gone: stopping")
                    kill(getpid(), SIGTERM)
                    return
                }
                usleep(500_000)
            }
        }
        thread.name = "parent-watch"
        thread.start()
    }
}
