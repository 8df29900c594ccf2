"""Usage statistics for program leads and admins: /stats, the chart, /export."""
