// The BGP module; see its issue.
