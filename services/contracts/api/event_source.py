"""The CloudEvents ``source`` of every contract event: on Kafka, in the feed and in a contract's
stream."""

SOURCE = "/parcours/contracts"
