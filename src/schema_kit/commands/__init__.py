"""Step 6, report: ``verify``, ``audit`` and the reports they write."""
