#ifndef SWIFTCNI_CNFTNL_SHIM_H
#define SWIFTCNI_CNFTNL_SHIM_H
// libnftnl and libmnl: the headers the Netlink module's nftables part uses.
// glibc's netinet/in.h first: linux/netfilter.h pulls in linux/in.h, whose in_addr would
// otherwise clash with SwiftGlibc's definition.
#include <netinet/in.h>
#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <libnftnl/batch.h>
#include <libnftnl/table.h>
#include <libnftnl/chain.h>
#include <libnftnl/set.h>
#include <libnftnl/rule.h>
#include <libnftnl/expr.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#endif
