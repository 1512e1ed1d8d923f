// The VXLAN module; see its issue.
