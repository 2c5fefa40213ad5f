"""Tencent Cloud SMS (短信, API 2021-01-11) through its official SDK, ``tencentcloud-sdk-python-sms``.

Settings: ``TENCENT_SMS_SECRET_ID``, ``TENCENT_SMS_SECRET_KEY``, ``TENCENT_SMS_SDK_APP_ID`` (the
SmsSdkAppId of the SMS application), ``TENCENT_SMS_REGION`` (``ap-guangzhou``), ``SMS_SIGN_NAME``
and ``SMS_TEMPLATES`` (our template names to the approved template IDs). Tencent's templates
number their parameters ({1}, {2}): they go in the order ``SmsMessage.params`` lists them.

Every message carries the caller's reference as ``SessionContext``, the same on every try of one
delivery. SendSms drops no repeat by itself: ``was_sent`` pulls the number's send statuses
(PullSmsSendStatusByPhoneNumber, the last 7 days at most) and looks for that ``SessionContext``.
Two limits, both Tencent's: a message is listed there once the carrier's receipt is in (seconds,
usually), and the status carries the ``SessionContext`` only once Tencent's SMS helper has enabled
it for the account (empty by default, says the SDK). Until then nothing is found and a retried
delivery may be sent twice: at least once, not at most once.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from tencentcloud.common import credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.sms.v20210111 import models, sms_client

from . import SmsError, SmsMessage, SmsTransientError, TemplateSmsBackend

# Codes worth another try: the network, Tencent's own failures, its API rate limit. Others (a bad
# number, template or signature, a number's daily limit, no balance) are permanent.
TRANSIENT_PREFIXES = ("ClientNetworkError", "ServerNetworkError", "InternalError", "RequestLimitExceeded")


# PullSmsSendStatusByPhoneNumber: at most 100 statuses a call, from at most 7 days back.
PULL_LIMIT = 100
PULL_DAYS = 7
PULL_PAGES = 4  # a number gets few texts a week: 400 statuses are plenty


def _transient(code: str) -> bool:
    return code.startswith(TRANSIENT_PREFIXES)


class TencentSmsBackend(TemplateSmsBackend):
    def __init__(self, client: sms_client.SmsClient | None = None) -> None:
        if client is None:
            http = HttpProfile(endpoint="sms.tencentcloudapi.com", reqTimeout=5)
            client = sms_client.SmsClient(
                credential.Credential(settings.TENCENT_SMS_SECRET_ID, settings.TENCENT_SMS_SECRET_KEY),
                settings.TENCENT_SMS_REGION,
                ClientProfile(httpProfile=http),
            )
        self.client = client

    @staticmethod
    def request_for(*, phone: str, message: SmsMessage, reference: str) -> models.SendSmsRequest:
        request = models.SendSmsRequest()
        request.PhoneNumberSet = [f"+86{phone}"]
        request.SmsSdkAppId = settings.TENCENT_SMS_SDK_APP_ID
        request.SignName = settings.SMS_SIGN_NAME
        request.TemplateId = TemplateSmsBackend.template_id(message.template)
        request.TemplateParamSet = list(message.params.values())
        request.SessionContext = reference  # returned in delivery reports
        return request

    def send_message(self, *, phone: str, message: SmsMessage, reference: str) -> None:
        request = self.request_for(phone=phone, message=message, reference=reference)
        try:
            response = self.client.SendSms(request)
        except TencentCloudSDKException as error:
            code = error.get_code() or "unknown"
            raise (SmsTransientError if _transient(code) else SmsError)(
                f"Tencent Cloud SMS {code} (request {error.get_request_id() or '?'})"
            ) from error
        statuses = response.SendStatusSet or []
        code = statuses[0].Code if statuses else "no status"
        if code == "Ok":
            return
        detail = f"Tencent Cloud SMS {code} (request {response.RequestId or '?'})"
        raise (SmsTransientError if _transient(code) else SmsError)(detail)

    def was_sent(self, *, phone: str, reference: str, since: dt.datetime) -> bool | None:
        now = dt.datetime.now(dt.UTC)
        request = models.PullSmsSendStatusByPhoneNumberRequest()
        request.PhoneNumber = f"+86{phone}"
        request.SmsSdkAppId = settings.TENCENT_SMS_SDK_APP_ID
        request.BeginTime = int(max(since, now - dt.timedelta(days=PULL_DAYS)).timestamp())
        request.EndTime = int(now.timestamp())
        request.Limit = PULL_LIMIT
        for page in range(PULL_PAGES):
            request.Offset = page * PULL_LIMIT
            try:
                response = self.client.PullSmsSendStatusByPhoneNumber(request)
            except TencentCloudSDKException as error:
                raise SmsTransientError(
                    f"Tencent Cloud SMS send statuses {error.get_code() or 'unknown'} "
                    f"(request {error.get_request_id() or '?'})"
                ) from error
            statuses = response.PullSmsSendStatusSet or []
            if any(status.SessionContext == reference for status in statuses):
                return True
            if len(statuses) < PULL_LIMIT:
                break
        return False
