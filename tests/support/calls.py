"""The one call counter of tests and bench: AWS calls (botocore's ``before-call``), in order and by
operation, and what DynamoDB's answers carried (``after-call``), per attached client."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

WRITE_OPERATIONS = ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems")


@dataclass
class CallCounter:
    """Counts API calls (botocore ``before-call``) and items read/written (``after-call``) per client."""

    calls: Counter[str] = field(default_factory=Counter)  # "service.Operation" -> calls
    log: list[str] = field(default_factory=list)  # operation names in call order (see ``take``)
    items_read: int = 0
    items_scanned: int = 0
    read_units: float = 0.0
    write_units: float = 0.0  # ConsumedCapacity of write operations (see ask_consumed_capacity)
    _clients: list[Any] = field(default_factory=list)

    def attach(self, *clients: Any) -> CallCounter:
        for client in clients:
            client.meta.events.register("before-call.*.*", self._before, unique_id=f"bench-before-{id(self)}")
            client.meta.events.register("after-call.*.*", self._after, unique_id=f"bench-after-{id(self)}")
            self._clients.append(client)
        return self

    def detach(self) -> None:
        for client in self._clients:
            client.meta.events.unregister("before-call.*.*", unique_id=f"bench-before-{id(self)}")
            client.meta.events.unregister("after-call.*.*", unique_id=f"bench-after-{id(self)}")
        self._clients.clear()

    def _before(self, model: Any, **_: Any) -> None:
        self.calls[f"{model.service_model.service_name}.{model.name}"] += 1
        self.log.append(model.name)

    @property
    def client(self) -> Any:
        """The (first) client attached."""
        return self._clients[0]

    @property
    def operations(self) -> Counter[str]:
        """Calls by operation name, whatever the service."""
        return Counter({name.split(".", 1)[1]: n for name, n in self.calls.items()})

    def take(self) -> list[str]:
        """The operations called since the last ``take``, in order."""
        taken, self.log[:] = list(self.log), []
        return taken

    def _after(self, parsed: Any = None, model: Any = None, **_: Any) -> None:
        if not isinstance(parsed, dict):
            return
        writes = model is not None and model.name in WRITE_OPERATIONS
        if "Items" in parsed:
            self.items_read += len(parsed["Items"])
            self.items_scanned += int(parsed.get("ScannedCount", len(parsed["Items"])))
        if parsed.get("Item"):
            self.items_read += 1
            self.items_scanned += 1
        if "Responses" in parsed and isinstance(parsed["Responses"], dict):
            n = sum(len(v) for v in parsed["Responses"].values())
            self.items_read += n
            self.items_scanned += n
        consumed = parsed.get("ConsumedCapacity")
        for entry in consumed if isinstance(consumed, list) else [consumed] if consumed else []:
            if writes:
                self.write_units += float(entry.get("WriteCapacityUnits") or entry.get("CapacityUnits") or 0)
            else:
                self.read_units += float(entry.get("ReadCapacityUnits") or entry.get("CapacityUnits") or 0)

    def total(self, service: str | None = None) -> int:
        return sum(n for name, n in self.calls.items() if service is None or name.startswith(service + "."))

    def reset(self) -> None:
        self.calls.clear()
        self.log.clear()
        self.items_read = self.items_scanned = 0
        self.read_units = self.write_units = 0.0

    def breakdown(self) -> str:
        return ", ".join(f"{name.split('.', 1)[1]} {n}" for name, n in sorted(self.calls.items())) or "none"
