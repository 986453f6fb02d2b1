#!/usr/bin/env python3
"""An independent check of a SigV4-presigned AWS IoT WebSocket URL (hmac and hashlib only), as
AWS documents it: the test wss server runs it on every upgrade request it receives.

    sigv4.py verify TARGET HOST SECRET REGION

TARGET is the request target (/mqtt?X-Amz-...), HOST the Host header. Prints
"ok ACCESS_KEY TOKEN" (TOKEN "-" when none) and exits 0, or prints what is wrong and exits 1.
The check is self-tested against AWS's get-vanilla test-suite case with `sigv4.py selftest`.
"""

import datetime
import hashlib
import hmac
import sys
import urllib.parse

SERVICE = "iotdevicegateway"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


def encode(text):
    return urllib.parse.quote(text, safe="-_.~")


def sign(key, message):
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()


def signature(secret, date, region, service, string_to_sign):
    key = sign(("AWS4" + secret).encode("utf-8"), date)
    key = sign(key, region)
    key = sign(key, service)
    key = sign(key, "aws4_request")
    return hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def canonical_query(pairs):
    encoded = sorted((encode(k), encode(v)) for k, v in pairs)
    return "&".join(f"{k}={v}" for k, v in encoded)


def verify(target, host, secret, region):
    path, _, query = target.partition("?")
    pairs = urllib.parse.parse_qsl(query, keep_blank_values=True, strict_parsing=True)
    params = dict(pairs)
    if len(params) != len(pairs):
        return "a query parameter repeats"
    need = ["X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-SignedHeaders",
            "X-Amz-Signature"]
    for name in need:
        if name not in params:
            return f"no {name}"
    if params["X-Amz-Algorithm"] != "AWS4-HMAC-SHA256":
        return "wrong algorithm"
    if params["X-Amz-SignedHeaders"] != "host":
        return "signed headers are not host"
    names = [k for k, _ in pairs]
    if "X-Amz-Security-Token" in params and names[-1] != "X-Amz-Security-Token":
        return "the session token is not appended after the signature"
    access_key, date, scope_region, service, terminal = params["X-Amz-Credential"].split("/")
    if (scope_region, service, terminal) != (region, SERVICE, "aws4_request"):
        return f"wrong scope {params['X-Amz-Credential']}"
    stamp = params["X-Amz-Date"]
    when = datetime.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(
        tzinfo=datetime.timezone.utc)
    now = datetime.datetime.now(datetime.timezone.utc)
    if abs((now - when).total_seconds()) > 300 or stamp[:8] != date:
        return f"X-Amz-Date {stamp} is not now"
    signed = [(k, v) for k, v in pairs if k not in ("X-Amz-Signature", "X-Amz-Security-Token")]
    canonical = "\n".join(["GET", encode_path(path), canonical_query(signed), f"host:{host}", "",
                           "host", EMPTY_SHA256])
    scope = f"{date}/{region}/{SERVICE}/aws4_request"
    string_to_sign = "\n".join(["AWS4-HMAC-SHA256", stamp, scope,
                                hashlib.sha256(canonical.encode("utf-8")).hexdigest()])
    expected = signature(secret, date, region, SERVICE, string_to_sign)
    if not hmac.compare_digest(expected, params["X-Amz-Signature"]):
        return "signature mismatch"
    return f"ok {access_key} {params.get('X-Amz-Security-Token', '-')}"


def encode_path(path):
    # The path as sent (already in URL form) is encoded once more: AWS's "each path segment
    # must be URI-encoded twice" for every service but S3, as botocore does it.
    return urllib.parse.quote(path, safe="/-_.~")


def selftest():
    # AWS's test suite, get-vanilla: the same key derivation and string to sign.
    canonical = "\n".join(["GET", "/", "", "host:example.amazonaws.com",
                           "x-amz-date:20150830T123600Z", "", "host;x-amz-date", EMPTY_SHA256])
    string_to_sign = "\n".join(["AWS4-HMAC-SHA256", "20150830T123600Z",
                                "20150830/us-east-1/service/aws4_request",
                                hashlib.sha256(canonical.encode()).hexdigest()])
    got = signature("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20150830", "us-east-1",
                    "service", string_to_sign)
    want = "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
    return "ok" if got == want else f"selftest failed: {got}"


def main(argv):
    if argv[1:2] == ["selftest"]:
        verdict = selftest()
    elif argv[1:2] == ["verify"] and len(argv) == 6:
        try:
            verdict = verify(*argv[2:6])
        except ValueError as error:
            verdict = f"malformed: {error}"
    else:
        print(__doc__)
        return 2
    print(verdict)
    return 0 if verdict.startswith("ok") else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
