#ifndef SWIFTCNI_CNETLINK_SHIM_H
#define SWIFTCNI_CNETLINK_SHIM_H
// libnl-3 and libnl-route-3: the headers the Netlink module uses. Only Netlink imports this.
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <netlink/msg.h>
#include <netlink/attr.h>
#include <netlink/cache.h>
#include <netlink/errno.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/link/vxlan.h>
#include <netlink/route/link/macvlan.h>
#include <netlink/route/addr.h>
#include <netlink/route/route.h>
#include <netlink/route/nexthop.h>
#include <netlink/route/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <sys/eventfd.h>
#endif
