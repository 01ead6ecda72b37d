"""`make bench`: the service and two reference apps under the same wrk load, and the report."""
