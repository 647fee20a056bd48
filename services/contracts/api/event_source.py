"""The CloudEvents ``source`` of every contract event: on Kafka, in the feed and in a contract's
stream (defined beside the relay that publishes them)."""
from services.contracts.adapters.contracts_relay import SOURCE

__all__ = ["SOURCE"]
