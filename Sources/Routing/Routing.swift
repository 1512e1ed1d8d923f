// The Routing module; see its issue.
