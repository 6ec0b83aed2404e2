# promtool, amtool and Alertmanager for tests/monitoring.
need promtool prometheus
need amtool prometheus-alertmanager
