#ifndef SWIFTCNI_CNFTNL_SHIM_H
#define SWIFTCNI_CNFTNL_SHIM_H
// libnftnl: encodes and decodes nftables objects (tables, chains, sets, elements, rules and
// their expressions) as netlink messages. Imported `internal` by the Nftables module only;
// the messages go through the Netlink module's netlink core (socket, sequence numbers,
// ACKs, extended ACK, batches), so no libmnl socket is used here (libnftnl itself links
// libmnl for its message helpers).
// glibc's netinet/in.h first: linux/netfilter.h pulls in linux/in.h, whose in_addr would
// otherwise clash with SwiftGlibc's definition.
#include <netinet/in.h>
#include <libnftnl/common.h>
#include <libnftnl/batch.h>
#include <libnftnl/table.h>
#include <libnftnl/chain.h>
#include <libnftnl/set.h>
#include <libnftnl/rule.h>
#include <libnftnl/expr.h>
#include <libnftnl/udata.h>
#include <linux/netlink.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#endif
