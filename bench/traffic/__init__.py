"""``make load``: locust users on the cluster topology, then the invariants (bench/README.md).

``run`` starts and stops everything (and is the interface for fault drills), ``prepare`` makes the
users on the target database, ``locustfile`` is what they do, ``fakes`` and ``backends`` are the
SMS/e-mail provider and webhook receiver on loopback, ``invariants`` checks what must hold,
``report`` writes bench/load.md. Only the locust process imports ``locustfile`` (gevent).
"""
