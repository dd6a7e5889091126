#!/usr/bin/env python3
"""Sends a CloudEvent with the CloudEvents Python SDK, as a real client would.

Usage: send_cloudevent.py URL binary|structured EVENT_FILE
EVENT_FILE is a CloudEvent in structured JSON (a conformance vector); its "data" becomes the event's
data. Prints the HTTP status of the answer.
"""
import json
import sys
import urllib.error
import urllib.request

try:  # the SDK's classic API; 2.x keeps it under cloudevents.v1
    from cloudevents.http import CloudEvent, to_binary, to_structured
except ImportError:
    from cloudevents.v1.http import CloudEvent, to_binary, to_structured

url, mode, path = sys.argv[1:4]
with open(path) as handle:
    attributes = json.load(handle)
data = attributes.pop("data", None)
event = CloudEvent(attributes, data)
headers, body = (to_binary if mode == "binary" else to_structured)(event)
request = urllib.request.Request(url, data=body, headers=headers, method="POST")
try:
    with urllib.request.urlopen(request, timeout=30) as response:
        print(response.status)
except urllib.error.HTTPError as error:
    print(error.code)
