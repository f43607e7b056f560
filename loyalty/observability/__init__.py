"""What an operator sees of a running service: JSON logs without personal data, Prometheus
metrics, and the gunicorn settings that serve both."""
