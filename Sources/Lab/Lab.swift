// The Lab module; see its issue.
