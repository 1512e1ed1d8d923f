#ifndef SWIFTCNI_CLINUXSHIM_H
#define SWIFTCNI_CLINUXSHIM_H
// What Glibc hides from Swift (it needs _GNU_SOURCE): namespace syscalls and the thread id.
// Each function returns what the syscall returns and leaves errno set on failure.
#include <sys/types.h>

/// setns(2) for a network namespace file descriptor (nstype CLONE_NEWNET).
int cnishim_setns_net(int fd);
/// unshare(2) of the network namespace only (CLONE_NEWNET).
int cnishim_unshare_net(void);
/// gettid(2): the kernel id of the calling thread.
pid_t cnishim_gettid(void);
/// mount(2) with MS_BIND of source onto target.
int cnishim_bind_mount(const char *source, const char *target);
/// mount(2) making target a shared mount point (MS_SHARED | MS_REC).
int cnishim_make_shared(const char *target);
/// umount2(2) with MNT_DETACH.
int cnishim_umount_detach(const char *target);
/// Sets the loopback device up in the calling thread's network namespace (SIOCSIFFLAGS).
int cnishim_loopback_up(void);
/// pipe2(2) with O_CLOEXEC: both ends close on exec, atomically.
int cnishim_pipe_cloexec(int fds[2]);
/// Names the calling thread (prctl PR_SET_NAME; at most 15 bytes are kept).
int cnishim_set_thread_name(const char *name);
/// prctl(PR_SET_PDEATHSIG): the kernel sends `signal` to this process when the thread that
/// spawned it exits (or its whole process dies). Kept per thread: only while the calling
/// thread lives, so call it from a thread that lives as long as the process.
int cnishim_set_parent_death_signal(int signal);

#include <stddef.h>
#include <stdint.h>
/// Opens /dev/net/tun (O_RDWR | O_CLOEXEC | O_NONBLOCK) and attaches it to the TAP device
/// `name` without packet information (ioctl TUNSETIFF, IFF_TAP | IFF_NO_PI), creating the
/// device in the calling thread's network namespace. Returns the descriptor or -1.
int cnishim_tap_open(const char *name);
/// Like `cnishim_tap_open`, with offloads: IFF_VNET_HDR (every read and write starts with a
/// 10-byte virtio_net_hdr) and TUNSETOFFLOAD TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN,
/// so the kernel hands over GSO super-frames (up to 64 KiB) and takes them back. With
/// `persist` the device outlives the descriptor (TUNSETPERSIST), and opening it again attaches
/// to the existing device. Returns the descriptor or -1.
int cnishim_tap_open_offload(const char *name, int persist);
/// Clears TUNSETPERSIST on the TAP device behind `fd` (it then goes away when closed).
int cnishim_tap_set_persist(int fd, int persist);
/// One datagram of a batch: `header` then `payload` (either may be empty), to or from the
/// IPv4 address `address` (network byte order) and `port` (host byte order).
typedef struct cnishim_datagram {
    const void *header;
    size_t header_length;
    void *payload;
    size_t payload_length;
    uint32_t address;
    uint16_t port;
} cnishim_datagram;
/// sendmmsg(2) of `count` datagrams (at most 64). Returns how many were sent or -1.
int cnishim_send_batch(int fd, const cnishim_datagram *datagrams, unsigned count);
/// recvmmsg(2) with MSG_DONTWAIT of at most `count` (<= 64) datagrams into `payload` buffers
/// of `payload_length` bytes each; sets each received `payload_length`, `address`, `port`.
/// Returns how many were received or -1 (EAGAIN when none was waiting).
int cnishim_receive_batch(int fd, cnishim_datagram *datagrams, unsigned count);
/// Sets UDP_GRO on a UDP socket: the kernel may hand over several datagrams of one sender at
/// once (see `cnishim_receive_batch_segmented`).
int cnishim_udp_set_gro(int fd, int on);
/// sendmsg(2) of `length` bytes at `buffer` to `address` (network byte order) and `port` (host
/// byte order) as datagrams of `segment` bytes each, the last possibly shorter, with
/// UDP_SEGMENT: one pass through the stack for all of them. Returns the bytes sent or -1.
ssize_t cnishim_send_segmented(int fd, const void *buffer, size_t length, uint16_t segment, uint32_t address, uint16_t port);
/// Like `cnishim_receive_batch` on a socket with UDP_GRO: each message may hold several
/// datagrams of one sender back to back, each `segments[i]` bytes (the last possibly shorter);
/// `segments[i]` is 0 when the message is a single datagram.
int cnishim_receive_batch_segmented(int fd, cnishim_datagram *datagrams, uint16_t *segments, unsigned count);
/// A packet socket (AF_PACKET, SOCK_DGRAM, O_NONBLOCK | O_CLOEXEC) bound to the device with
/// index `ifindex` for the EtherType `protocol` (host order): it receives the payloads of the
/// frames of that type the device delivers to this host. Returns the descriptor or -1.
int cnishim_packet_socket(int ifindex, uint16_t protocol);
#endif
