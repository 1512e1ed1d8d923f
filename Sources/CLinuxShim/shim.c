#define _GNU_SOURCE
#include <sched.h>
#include <errno.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <net/if.h>
#include <linux/if_tun.h>
#include <linux/if_packet.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/uio.h>
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

int cnishim_tap_open(const char *name) {
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return -1;
    struct ifreq request;
    memset(&request, 0, sizeof request);
    request.ifr_flags = IFF_TAP | IFF_NO_PI;
    strncpy(request.ifr_name, name, IFNAMSIZ - 1);
    if (ioctl(fd, TUNSETIFF, &request) < 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

int cnishim_tap_open_offload(const char *name, int persist) {
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return -1;
    struct ifreq request;
    memset(&request, 0, sizeof request);
    request.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
    strncpy(request.ifr_name, name, IFNAMSIZ - 1);
    int size = 10;
    unsigned offloads = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN;
    if (ioctl(fd, TUNSETIFF, &request) < 0 || ioctl(fd, TUNSETVNETHDRSZ, &size) < 0
        || ioctl(fd, TUNSETOFFLOAD, offloads) < 0 || ioctl(fd, TUNSETPERSIST, persist ? 1 : 0) < 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

int cnishim_tap_set_persist(int fd, int persist) { return ioctl(fd, TUNSETPERSIST, persist ? 1 : 0); }

#define CNISHIM_BATCH 64

int cnishim_send_batch(int fd, const cnishim_datagram *datagrams, unsigned count) {
    if (count > CNISHIM_BATCH) count = CNISHIM_BATCH;
    struct mmsghdr messages[CNISHIM_BATCH];
    struct iovec vectors[CNISHIM_BATCH][2];
    struct sockaddr_in addresses[CNISHIM_BATCH];
    memset(messages, 0, sizeof(struct mmsghdr) * count);
    for (unsigned i = 0; i < count; i++) {
        memset(&addresses[i], 0, sizeof addresses[i]);
        addresses[i].sin_family = AF_INET;
        addresses[i].sin_addr.s_addr = datagrams[i].address;
        addresses[i].sin_port = htons(datagrams[i].port);
        vectors[i][0].iov_base = (void *)datagrams[i].header;
        vectors[i][0].iov_len = datagrams[i].header_length;
        vectors[i][1].iov_base = datagrams[i].payload;
        vectors[i][1].iov_len = datagrams[i].payload_length;
        messages[i].msg_hdr.msg_name = &addresses[i];
        messages[i].msg_hdr.msg_namelen = sizeof addresses[i];
        messages[i].msg_hdr.msg_iov = vectors[i];
        messages[i].msg_hdr.msg_iovlen = 2;
    }
    return sendmmsg(fd, messages, count, 0);
}

int cnishim_receive_batch(int fd, cnishim_datagram *datagrams, unsigned count) {
    if (count > CNISHIM_BATCH) count = CNISHIM_BATCH;
    struct mmsghdr messages[CNISHIM_BATCH];
    struct iovec vectors[CNISHIM_BATCH];
    struct sockaddr_in addresses[CNISHIM_BATCH];
    memset(messages, 0, sizeof(struct mmsghdr) * count);
    for (unsigned i = 0; i < count; i++) {
        vectors[i].iov_base = datagrams[i].payload;
        vectors[i].iov_len = datagrams[i].payload_length;
        messages[i].msg_hdr.msg_name = &addresses[i];
        messages[i].msg_hdr.msg_namelen = sizeof addresses[i];
        messages[i].msg_hdr.msg_iov = &vectors[i];
        messages[i].msg_hdr.msg_iovlen = 1;
    }
    int received = recvmmsg(fd, messages, count, MSG_DONTWAIT, NULL);
    for (int i = 0; i < received; i++) {
        datagrams[i].payload_length = (messages[i].msg_hdr.msg_flags & MSG_TRUNC) ? 0 : messages[i].msg_len;
        datagrams[i].address = addresses[i].sin_addr.s_addr;
        datagrams[i].port = ntohs(addresses[i].sin_port);
    }
    return received;
}

int cnishim_udp_set_gro(int fd, int on) { return setsockopt(fd, IPPROTO_UDP, UDP_GRO, &on, sizeof on); }

ssize_t cnishim_send_segmented(int fd, const void *buffer, size_t length, uint16_t segment, uint32_t address, uint16_t port) {
    struct sockaddr_in destination;
    memset(&destination, 0, sizeof destination);
    destination.sin_family = AF_INET;
    destination.sin_addr.s_addr = address;
    destination.sin_port = htons(port);
    struct iovec vector = { .iov_base = (void *)buffer, .iov_len = length };
    char control[CMSG_SPACE(sizeof(uint16_t))];
    memset(control, 0, sizeof control);
    struct msghdr message;
    memset(&message, 0, sizeof message);
    message.msg_name = &destination;
    message.msg_namelen = sizeof destination;
    message.msg_iov = &vector;
    message.msg_iovlen = 1;
    message.msg_control = control;
    message.msg_controllen = sizeof control;
    struct cmsghdr *header = CMSG_FIRSTHDR(&message);
    header->cmsg_level = IPPROTO_UDP;
    header->cmsg_type = UDP_SEGMENT;
    header->cmsg_len = CMSG_LEN(sizeof(uint16_t));
    memcpy(CMSG_DATA(header), &segment, sizeof segment);
    return sendmsg(fd, &message, 0);
}

int cnishim_receive_batch_segmented(int fd, cnishim_datagram *datagrams, uint16_t *segments, unsigned count) {
    if (count > CNISHIM_BATCH) count = CNISHIM_BATCH;
    struct mmsghdr messages[CNISHIM_BATCH];
    struct iovec vectors[CNISHIM_BATCH];
    struct sockaddr_in addresses[CNISHIM_BATCH];
    char controls[CNISHIM_BATCH][CMSG_SPACE(sizeof(int))];
    memset(messages, 0, sizeof(struct mmsghdr) * count);
    for (unsigned i = 0; i < count; i++) {
        vectors[i].iov_base = datagrams[i].payload;
        vectors[i].iov_len = datagrams[i].payload_length;
        messages[i].msg_hdr.msg_name = &addresses[i];
        messages[i].msg_hdr.msg_namelen = sizeof addresses[i];
        messages[i].msg_hdr.msg_iov = &vectors[i];
        messages[i].msg_hdr.msg_iovlen = 1;
        messages[i].msg_hdr.msg_control = controls[i];
        messages[i].msg_hdr.msg_controllen = sizeof controls[i];
    }
    int received = recvmmsg(fd, messages, count, MSG_DONTWAIT, NULL);
    for (int i = 0; i < received; i++) {
        datagrams[i].payload_length = (messages[i].msg_hdr.msg_flags & MSG_TRUNC) ? 0 : messages[i].msg_len;
        datagrams[i].address = addresses[i].sin_addr.s_addr;
        datagrams[i].port = ntohs(addresses[i].sin_port);
        segments[i] = 0;
        for (struct cmsghdr *header = CMSG_FIRSTHDR(&messages[i].msg_hdr); header != NULL;
             header = CMSG_NXTHDR(&messages[i].msg_hdr, header)) {
            if (header->cmsg_level == IPPROTO_UDP && header->cmsg_type == UDP_GRO) {
                int size = 0;
                memcpy(&size, CMSG_DATA(header), sizeof size);
                segments[i] = (uint16_t)size;
            }
        }
    }
    return received;
}

int cnishim_packet_socket(int ifindex, uint16_t protocol) {
    int fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(protocol));
    if (fd < 0) return -1;
    struct sockaddr_ll address;
    memset(&address, 0, sizeof address);
    address.sll_family = AF_PACKET;
    address.sll_protocol = htons(protocol);
    address.sll_ifindex = ifindex;
    if (bind(fd, (struct sockaddr *)&address, sizeof address) < 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}
