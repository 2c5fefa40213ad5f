"""The SMS providers: each adapter builds its SDK's request from our message and settings, and turns
the provider's answers into sent / try again / refused. No network: each SDK's own transport (the
call that would open the connection) is replaced, so the SDK still builds and signs the request."""

from __future__ import annotations

import io
import json
from types import SimpleNamespace
from unittest import mock
from urllib.parse import parse_qs

import pytest
from darabonba.core import DaraCore
from darabonba.response import DaraResponse
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from common import sms
from common.sms.aliyun import AliyunSmsBackend
from common.sms.tencent import TencentSmsBackend

CODE = sms.SmsMessage(template="code", params={"code": "482913", "minutes": "5"}, text="Your code is 482913.")
NOTICE_TEXT = "Application ABCDE-FGHJK: Offer ready."


@pytest.fixture(autouse=True)
def provider_settings(settings):
    settings.SMS_SIGN_NAME = "车贷进度通"
    settings.SMS_TEMPLATES = {"code": "SMS_100001", "notice": "SMS_100002", "signup_taken": "SMS_100003"}
    settings.ALIYUN_SMS_ACCESS_KEY_ID = "LTAI-test-id"
    settings.ALIYUN_SMS_ACCESS_KEY_SECRET = "test-secret"
    settings.ALIYUN_SMS_ENDPOINT = "dysmsapi.aliyuncs.com"
    settings.TENCENT_SMS_SECRET_ID = "AKID-test"
    settings.TENCENT_SMS_SECRET_KEY = "test-key"
    settings.TENCENT_SMS_SDK_APP_ID = "1400000001"
    settings.TENCENT_SMS_REGION = "ap-guangzhou"


# --- Alibaba Cloud -------------------------------------------------------------------------------


def aliyun_answer(status: int, body: dict) -> DaraResponse:
    response = DaraResponse()
    response.status_code = status
    response.headers = {"content-type": "application/json;charset=utf-8"}
    response.body = io.BytesIO(json.dumps(body).encode())
    return response


def aliyun_send(answer: DaraResponse | Exception, message=CODE, reference="loanportal-code-7"):
    """Send through the real SDK client with its HTTP call replaced; the request it would have sent."""
    with mock.patch.object(DaraCore, "do_action", side_effect=[answer]) as transport:
        try:
            AliyunSmsBackend().send_message(phone="13812345678", message=message, reference=reference)
        finally:
            request = transport.call_args.args[0] if transport.call_args else None
    return request


def test_aliyun_builds_the_sendsms_request_from_the_template_and_signature():
    request = aliyun_send(
        aliyun_answer(200, {"Code": "OK", "Message": "OK", "BizId": "9", "RequestId": "r1"})
    )

    query, headers = request.query, request.headers
    assert request.method == "POST" and headers["host"] == "dysmsapi.aliyuncs.com"
    assert (headers["x-acs-action"], headers["x-acs-version"]) == ("SendSms", "2017-05-25")
    assert query["PhoneNumbers"] == "13812345678"
    assert query["SignName"] == "车贷进度通"
    assert query["TemplateCode"] == "SMS_100001"
    assert json.loads(query["TemplateParam"]) == {"code": "482913", "minutes": "5"}
    assert query["OutId"] == "loanportal-code-7"
    # Signed by the SDK with our key (ACS3-HMAC-SHA256).
    assert headers["Authorization"].startswith("ACS3-HMAC-SHA256 Credential=LTAI-test-id,")


def test_aliyun_sends_a_notice_as_its_template_with_the_text():
    with mock.patch.object(
        DaraCore, "do_action", side_effect=[aliyun_answer(200, {"Code": "OK"})]
    ) as transport:
        AliyunSmsBackend().send(phone="13812345678", text=NOTICE_TEXT, reference="loanportal-delivery-3")
    request = transport.call_args.args[0]
    assert request.query["TemplateCode"] == "SMS_100002"
    assert json.loads(request.query["TemplateParam"]) == {"text": NOTICE_TEXT}


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        pytest.param(
            aliyun_answer(200, {"Code": "isv.MOBILE_NUMBER_ILLEGAL", "RequestId": "r"}),
            sms.SmsError,
            id="bad-number",
        ),
        pytest.param(
            aliyun_answer(200, {"Code": "isv.BUSINESS_LIMIT_CONTROL", "RequestId": "r"}),
            sms.SmsTransientError,
            id="flow-control",
        ),
        pytest.param(
            aliyun_answer(503, {"Code": "ServiceUnavailable", "Message": "busy"}),
            sms.SmsTransientError,
            id="http-503",
        ),
        pytest.param(
            aliyun_answer(400, {"Code": "InvalidAccessKeyId.NotFound", "Message": "no"}),
            sms.SmsError,
            id="http-400",
        ),
        pytest.param(OSError("connection refused"), sms.SmsTransientError, id="unreachable"),
    ],
)
def test_aliyun_answers_become_sent_retry_or_refused(answer, error):
    with pytest.raises(error) as raised:
        aliyun_send(answer)
    assert "13812345678" not in str(raised.value) and "482913" not in str(raised.value)
    assert type(raised.value) is error


# --- Tencent Cloud -------------------------------------------------------------------------------


def tencent_answer(response: dict, status: int = 200):
    return SimpleNamespace(
        status_code=status,
        headers={"Content-Type": "application/json"},
        content=json.dumps({"Response": response}),
    )


def tencent_send(answer, message=CODE, reference="loanportal-code-8"):
    backend = TencentSmsBackend()
    effect = answer if isinstance(answer, Exception) else [answer]
    with mock.patch.object(backend.client.request, "send_request", side_effect=effect) as transport:
        try:
            backend.send_message(phone="13812345678", message=message, reference=reference)
        finally:
            request = transport.call_args.args[0] if transport.call_args else None
    return request


def ok_status(code="Ok"):
    return {
        "SendStatusSet": [
            {"SerialNo": "s", "PhoneNumber": "+8613812345678", "Fee": 1, "Code": code, "Message": "m"}
        ],
        "RequestId": "t1",
    }


def test_tencent_builds_the_sendsms_request_from_the_template_and_signature():
    request = tencent_send(tencent_answer(ok_status()))

    body = (
        json.loads(request.data)
        if request.method == "POST" and request.data.startswith("{")
        else {key: value[0] for key, value in parse_qs(request.data).items()}
    )
    assert request.header["X-TC-Action"] == "SendSms" and request.header["X-TC-Version"] == "2021-01-11"
    assert request.header["Authorization"].startswith("TC3-HMAC-SHA256 Credential=AKID-test/")
    assert body["PhoneNumberSet"] == ["+8613812345678"]
    assert body["SmsSdkAppId"] == "1400000001"
    assert body["SignName"] == "车贷进度通"
    assert body["TemplateId"] == "SMS_100001"
    assert body["TemplateParamSet"] == ["482913", "5"]  # in the template's order: {1} code, {2} minutes
    assert body["SessionContext"] == "loanportal-code-8"


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        pytest.param(
            tencent_answer(ok_status("InvalidParameterValue.IncorrectPhoneNumber")),
            sms.SmsError,
            id="bad-number",
        ),
        pytest.param(
            tencent_answer({"Error": {"Code": "InternalError.Timeout", "Message": "x"}, "RequestId": "t"}),
            sms.SmsTransientError,
            id="internal",
        ),
        pytest.param(
            tencent_answer(
                {
                    "Error": {"Code": "FailedOperation.SignatureIncorrectOrUnapproved", "Message": "x"},
                    "RequestId": "t",
                }
            ),
            sms.SmsError,
            id="signature",
        ),
        pytest.param(
            TencentCloudSDKException("ClientNetworkError", "timed out"),
            sms.SmsTransientError,
            id="unreachable",
        ),
    ],
)
def test_tencent_answers_become_sent_retry_or_refused(answer, error):
    with pytest.raises(error) as raised:
        tencent_send(answer)
    assert "13812345678" not in str(raised.value) and "482913" not in str(raised.value)
    assert type(raised.value) is error


# --- Choosing the provider, the log backend ------------------------------------------------------


def test_the_log_backend_writes_the_text_with_the_number_masked(settings, tmp_path, caplog):
    settings.SMS_BACKEND = "common.sms.LogFileBackend"
    settings.SMS_LOG_FILE = tmp_path / "sms.log"
    sms._backend_class.cache_clear()
    with caplog.at_level("INFO", logger="common.sms"):
        sms.send_with_retry(phone="13812345678", message=CODE, reference="loanportal-code-1")
    sms._backend_class.cache_clear()
    line = (tmp_path / "sms.log").read_text()
    assert "138****5678" in line and "Your code is 482913." in line and "13812345678" not in line
    assert "Your code is 482913." in caplog.text  # what `make run` prints


def test_a_template_the_settings_do_not_name_is_refused_before_sending(settings):
    settings.SMS_TEMPLATES = {"code": "", "notice": "SMS_2", "signup_taken": "SMS_3"}
    with pytest.raises(sms.SmsError), mock.patch.object(DaraCore, "do_action") as transport:
        AliyunSmsBackend().send_message(phone="13812345678", message=CODE, reference="r")
    transport.assert_not_called()
