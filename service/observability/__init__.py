"""What operators watch: log lines (text or JSON), Prometheus metrics, OpenTelemetry traces."""
