"""A BentoML service that does nothing: the framework's own floor, for the latency benchmark."""

import bentoml


@bentoml.service(name="empty", workers=1, traffic={"timeout": 10, "max_concurrency": 32})
class Empty:
    @bentoml.api(route="/empty")
    def empty(self, payload: dict, /) -> dict:
        return {}
