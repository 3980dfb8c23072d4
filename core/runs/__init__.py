"""The job system: a durable run store, detached worker processes, reporters and recovery."""
