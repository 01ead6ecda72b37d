"""`make rehearse`: rolling deploys and faults against real processes behind a real HAProxy."""
