"""counter_total reads a counter back from the text exposition: it equals the registry's own sample values."""
from modelbook.serving.metrics import ServerMetrics, counter_total


def test_counter_total_equals_the_registry_values():
    m = ServerMetrics()
    for method, route, status, n in (("POST", "/v1/models/{name}/predict", "200", 7), ("POST", "/v1/models/{name}/predict", "503", 2),
                                     ("GET", "/health", "200", 3), ("POST", "/admin/x", "200", 1)):
        for _ in range(n):
            m.requests.labels(method, route, status).inc()
    text = m.render()[0].decode()

    def registry(route=None, status=None):
        return sum(s.value for metric in m.registry.collect() if metric.name == "modelbook_http_requests"
                   for s in metric.samples if s.name.endswith("_total")
                   and (route is None or s.labels["route"] == route) and (status is None or s.labels["status"] == status))

    predict = "/v1/models/{name}/predict"
    assert counter_total(text, "modelbook_http_requests", status="200", route=predict) == registry(predict, "200") == 7
    assert counter_total(text, "modelbook_http_requests", status="200") == registry(status="200") == 11
    assert counter_total(text, "modelbook_http_requests") == 13
    assert counter_total(text, "no_such_family") == 0.0
