#define _GNU_SOURCE
#include <sched.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <net/if.h>
#include "CLinuxShim.h"

int cnishim_setns_net(int fd) { return setns(fd, CLONE_NEWNET); }
int cnishim_unshare_net(void) { return unshare(CLONE_NEWNET); }
pid_t cnishim_gettid(void) { return (pid_t)syscall(SYS_gettid); }
int cnishim_bind_mount(const char *source, const char *target) {
    return mount(source, target, "none", MS_BIND, NULL);
}
int cnishim_make_shared(const char *target) {
    return mount("none", target, NULL, MS_SHARED | MS_REC, NULL);
}
int cnishim_umount_detach(const char *target) { return umount2(target, MNT_DETACH); }
int cnishim_loopback_up(void) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    struct ifreq req;
    memset(&req, 0, sizeof(req));
    strncpy(req.ifr_name, "lo", IFNAMSIZ - 1);
    int result = ioctl(fd, SIOCGIFFLAGS, &req);
    if (result == 0) {
        req.ifr_flags |= IFF_UP;
        result = ioctl(fd, SIOCSIFFLAGS, &req);
    }
    close(fd);
    return result;
}
int cnishim_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }
int cnishim_set_thread_name(const char *name) { return prctl(PR_SET_NAME, name, 0, 0, 0); }
int cnishim_set_parent_death_signal(int signal) { return prctl(PR_SET_PDEATHSIG, (unsigned long)signal, 0, 0, 0); }
