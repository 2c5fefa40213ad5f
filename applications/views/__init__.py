"""The customer site's views, split by subdomain: home, apply, documents, timeline, offer, track."""
