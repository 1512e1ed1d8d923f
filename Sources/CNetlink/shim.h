#ifndef SWIFTCNI_CNETLINK_SHIM_H
#define SWIFTCNI_CNETLINK_SHIM_H
// libnl-3, the netlink core of the Netlink module (its Core folder): sockets (nl_sock:
// connect, port id, sequence numbers, multicast groups) and message building (nlmsg, nla).
// Requests are encoded by the module itself, so libnl-route-3 is not used. Imported
// `internal` by Netlink only; the Nftables module reaches this core through Netlink's
// package API, never through this module.
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <netlink/msg.h>
#include <netlink/attr.h>
#include <netlink/errno.h>
#include <linux/netlink.h>
#include <sys/eventfd.h>
#endif
