// The Policy module; see its issue.
