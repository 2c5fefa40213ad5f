"""Documents in S3-compatible object storage (django-storages, boto3), sealed as ``common.storage``
seals local files. A module of its own so that boto3 is imported only where it is configured.

The bucket stays private: nothing hands its URLs to a browser (the permission-checked download view
reads the object and streams it), and the settings ask the server to encrypt each object too
(``ServerSideEncryption`` in ``object_parameters``: SSE-S3 or SSE-KMS).
"""

from __future__ import annotations

from storages.backends.s3 import S3Storage

from common.storage import EncryptedStorageMixin


class EncryptedS3Storage(EncryptedStorageMixin, S3Storage):
    pass
