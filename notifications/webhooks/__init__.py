"""Webhooks: dealers' systems told of their files' stage changes by signed HTTP posts.

An endpoint (``models.WebhookEndpoint``) belongs to one dealership and names the events it wants.
A stage change writes one ``WebhookDelivery`` row per (endpoint, event) in its own transaction
(``hooks.queue_webhooks``, a stage hook): the outbox, so a rolled-back change posts nothing and a
re-run hook adds nothing (the event id is derived from the history event and unique per endpoint).
A worker claims a row with a conditional UPDATE and posts it, signed (``signing``); a failure waits
in the row (``due_at``) with exponential backoff for 24 hours, and the relay (beat) finds rows due.

- ``choices``: the event types and the delivery statuses;
- ``models``: endpoints (URL, events, secrets) and deliveries (the outbox and the delivery log);
- ``validators``: which URLs an endpoint may have;
- ``signing``: secrets, the ``Webhook-Signature`` header;
- ``payloads``: which events a stage change is, and their bodies (no personal data);
- ``services``: endpoints created, edited and their secret rotated; deliveries written, sent,
  retried and sent again;
- ``hooks``, ``tasks``, ``admin``: the stage hook, the Celery tasks, the back office.
- ``selectors``, ``forms``, ``views``, ``urls``: the dealer's own page (``/dealer/webhooks/``): their
  dealerships' endpoints and latest deliveries, an endpoint added, its secret rotated, switched off
  and on, a failed delivery sent again.
"""
