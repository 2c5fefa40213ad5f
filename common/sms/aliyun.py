"""Alibaba Cloud SMS (短信服务, Dysmsapi 2017-05-25) through its official SDK,
``alibabacloud-dysmsapi20170525``.

Settings: ``ALIYUN_SMS_ACCESS_KEY_ID``, ``ALIYUN_SMS_ACCESS_KEY_SECRET``, ``ALIYUN_SMS_ENDPOINT``
(``dysmsapi.aliyuncs.com``), ``SMS_SIGN_NAME`` (the approved signature, 签名) and ``SMS_TEMPLATES``
(our template names to the approved template codes, ``SMS_123456789``). The parameters go as the
JSON ``TemplateParam`` under their names (``${code}`` in the template).

Every message carries the caller's reference as ``OutId``, the same on every try of one delivery.
SendSms itself is not idempotent (its documentation says so, and asks callers to check the send
record before retrying): ``was_sent`` reads the number's send records (QuerySendDetails, by
day in China time, the last 30 days at most) for that ``OutId``.
"""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

from alibabacloud_dysmsapi20170525.client import Client
from alibabacloud_dysmsapi20170525.models import QuerySendDetailsRequest, SendSmsRequest
from alibabacloud_tea_openapi import exceptions as api_errors
from alibabacloud_tea_openapi.utils_models import Config
from darabonba.exceptions import UnretryableException
from django.conf import settings

from . import SmsError, SmsMessage, SmsTransientError, TemplateSmsBackend

# The answers worth another try: Alibaba's throttling and its own failures. Any other code
# (a malformed number, an unknown template, a missing signature, no balance) is permanent.
TRANSIENT_CODES = {"isp.SYSTEM_ERROR", "isv.BUSINESS_LIMIT_CONTROL", "Throttling", "ServiceUnavailable"}
CHINA = ZoneInfo("Asia/Shanghai")
# QuerySendDetails: at most 50 records a page; a number gets few texts a day, so a few pages do.
PAGE_SIZE = 50
MAX_PAGES = 4


class AliyunSmsBackend(TemplateSmsBackend):
    def __init__(self, client: Client | None = None) -> None:
        self.client = client or Client(
            Config(
                access_key_id=settings.ALIYUN_SMS_ACCESS_KEY_ID,
                access_key_secret=settings.ALIYUN_SMS_ACCESS_KEY_SECRET,
                endpoint=settings.ALIYUN_SMS_ENDPOINT,
                connect_timeout=3000,  # milliseconds: a code is wanted now, not in a minute
                read_timeout=5000,
            )
        )

    @staticmethod
    def request_for(*, phone: str, message: SmsMessage, reference: str) -> SendSmsRequest:
        return SendSmsRequest(
            phone_numbers=phone,
            sign_name=settings.SMS_SIGN_NAME,
            template_code=TemplateSmsBackend.template_id(message.template),
            template_param=json.dumps(message.params, ensure_ascii=False) if message.params else None,
            out_id=reference,
        )

    def send_message(self, *, phone: str, message: SmsMessage, reference: str) -> None:
        request = self.request_for(phone=phone, message=message, reference=reference)
        try:
            response = self.client.send_sms(request)
        except (api_errors.ThrottlingException, api_errors.ServerException) as error:
            raise SmsTransientError(f"Alibaba Cloud SMS {error.code}") from error
        except api_errors.ClientException as error:
            if error.code in TRANSIENT_CODES:
                raise SmsTransientError(f"Alibaba Cloud SMS {error.code}") from error
            raise SmsError(f"Alibaba Cloud SMS {error.code}") from error
        except UnretryableException as error:  # no answer: connection refused, timeout, DNS
            raise SmsTransientError(
                f"Alibaba Cloud SMS unreachable: {type(error.inner_exception).__name__}"
            ) from error
        body = response.body
        code = getattr(body, "code", None)
        if code == "OK":
            return
        # The request id, never the provider's message, which may repeat the number.
        detail = f"Alibaba Cloud SMS {code} (request {getattr(body, 'request_id', '?')})"
        raise (SmsTransientError if code in TRANSIENT_CODES else SmsError)(detail)

    def was_sent(self, *, phone: str, reference: str, since: dt.datetime) -> bool | None:
        today = dt.datetime.now(CHINA).date()
        day = max(since.astimezone(CHINA).date(), today - dt.timedelta(days=29))
        while day <= today:
            for page in range(1, MAX_PAGES + 1):
                records = self._records(phone=phone, day=day, page=page)
                if any(record.out_id == reference for record in records):
                    return True
                if len(records) < PAGE_SIZE:
                    break
            day += dt.timedelta(days=1)
        return False

    def _records(self, *, phone: str, day: dt.date, page: int) -> list:
        request = QuerySendDetailsRequest(
            phone_number=phone, send_date=day.strftime("%Y%m%d"), page_size=PAGE_SIZE, current_page=page
        )
        try:
            body = self.client.query_send_details(request).body
        except (api_errors.AlibabaCloudException, UnretryableException) as error:
            raise SmsTransientError(f"Alibaba Cloud SMS send records: {type(error).__name__}") from error
        if getattr(body, "code", None) != "OK":
            raise SmsTransientError(
                f"Alibaba Cloud SMS send records {body.code} (request {getattr(body, 'request_id', '?')})"
            )
        found = body.sms_send_detail_dtos
        return list(found.sms_send_detail_dto or []) if found else []
