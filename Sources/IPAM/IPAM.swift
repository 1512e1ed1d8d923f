// The IPAM module; see its issue.
