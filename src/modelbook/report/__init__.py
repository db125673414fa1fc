"""The static HTML handbook (`modelbook report`): jinja2 templates, the entries, the latest lab results and plots."""
