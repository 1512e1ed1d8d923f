// The CNISpec module; see its issue.
