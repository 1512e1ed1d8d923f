// The Datastore module; see its issue.
