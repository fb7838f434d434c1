"""Calls Berth's ECS API with the real boto3 (Debian's python3-boto3) in the ways a caller can get
signing wrong, and prints one JSON object: for each case, the operation's result or its error code
and message as botocore parsed them.

usage: /usr/bin/python3 boto3_signing_probe.py ENDPOINT ACCESS_KEY_ID SECRET_ACCESS_KEY
"""
import datetime
import importlib
import json
import sys
import types

import boto3
import botocore.auth
from botocore.config import Config
from botocore.exceptions import ClientError

endpoint, key_id, secret = sys.argv[1:4]


def client(key=key_id, secret_key=secret):
    return boto3.session.Session().client(
        "ecs",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=key,
        aws_secret_access_key=secret_key,
        config=Config(retries={"total_max_attempts": 1}),
    )


def outcome(call):
    try:
        result = call()
        return {"ok": True, "clusterArns": result.get("clusterArns")}
    except ClientError as error:
        return {
            "ok": False,
            "code": error.response["Error"]["Code"],
            "message": error.response["Error"]["Message"],
            "status": error.response["ResponseMetadata"]["HTTPStatusCode"],
        }


class TenMinutesAgo(datetime.datetime):
    """botocore.auth stamps the request with datetime.datetime.utcnow(): make that 10 minutes old."""

    @classmethod
    def utcnow(cls):
        return datetime.datetime.utcnow() - datetime.timedelta(minutes=10)


def signed_ten_minutes_ago():
    # The signers' own names for the datetime module are swapped, so nothing else sees the old
    # clock: botocore's signer, and the CRT one botocore prefers when awscrt is installed.
    signer_modules = [botocore.auth]
    try:
        signer_modules.append(importlib.import_module("botocore.crt.auth"))
    except ImportError:
        pass
    old_clock = types.SimpleNamespace(**{**vars(datetime), "datetime": TenMinutesAgo})
    for module in signer_modules:
        module.datetime = old_clock
    try:
        return outcome(lambda: client().list_clusters())
    finally:
        for module in signer_modules:
            module.datetime = datetime


def tampered_body():
    tampering = client()

    def change_body_after_signing(request, **_):
        # Same length, so only the signature can tell: {"maxResults": 5} becomes {"maxResults": 9}.
        request.body = request.body.replace(b"5", b"9")

    tampering.meta.events.register("before-send.ecs.ListClusters", change_body_after_signing)
    return outcome(lambda: tampering.list_clusters(maxResults=5))


print(
    json.dumps(
        {
            "rightKey": outcome(lambda: client().list_clusters()),
            "unknownKey": outcome(lambda: client(key="BKIAUNKNOWN000000000").list_clusters()),
            "wrongSecret": outcome(lambda: client(secret_key=secret + "x").list_clusters()),
            "signedTenMinutesAgo": signed_ten_minutes_ago(),
            "tamperedBody": tampered_body(),
        }
    )
)
