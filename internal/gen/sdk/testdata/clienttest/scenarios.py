"""The client scenarios of TestClientsBehaviour for the generated Python
client. SCENARIO names one; URL is the test server. It prints
{"stats": ..., "errors": [...]}: the client's counts and the errors track
raised, by name."""

import json
import os
import time
import urllib.request

import tracking

url = os.environ["URL"]
errors = []


def ev(i):
    return tracking.new_PageViewV1_0_0({"url": f"https://shop.example/{i}"})


def track(c, e):
    try:
        c.track(e)
    except Exception as err:  # noqa: BLE001 - recorded by name
        errors.append(type(err).__name__)


def batches():
    c = tracking.Client(url, batch_size=10, flush_interval=3600)
    for i in range(25):
        track(c, ev(i))
    c.close(timeout=20)
    return c


def retries():
    c = tracking.Client(url, flush_interval=0.01, min_backoff=0.1, max_backoff=1)
    track(c, ev(0))
    c.close(timeout=20)
    return c


def retryafter():
    c = tracking.Client(url, flush_interval=0.01, min_backoff=0.001, max_backoff=5)
    track(c, ev(0))
    c.close(timeout=20)
    return c


def giveup():
    c = tracking.Client(url, flush_interval=0.01, max_retries=2, min_backoff=0.001, max_backoff=0.002)
    track(c, ev(0))
    track(c, ev(1))
    c.close(timeout=20)
    return c


def clienterror():
    c = tracking.Client(url, flush_interval=0.01)
    track(c, ev(0))
    c.close(timeout=20)
    return c


def queuefull():
    c = tracking.Client(url, batch_size=1, queue_size=3, flush_interval=0.001)
    track(c, ev(0))
    while urllib.request.urlopen(url + "/calls").read() == b"0":
        time.sleep(0.005)
    for i in range(1, 11):
        track(c, ev(i))
    urllib.request.urlopen(url + "/release").read()
    c.close(timeout=20)
    return c


def invalid():
    c = tracking.Client(url, flush_interval=0.001)
    e = ev(0)
    e.data["url"] = "not a uri"
    track(c, e)
    c.close(timeout=20)
    return c


def hugeretryafter():
    c = tracking.Client(url, flush_interval=0.01, min_backoff=0.001, max_backoff=0.01)
    track(c, ev(0))
    c.close(timeout=20)
    return c


def nullanswer():
    c = tracking.Client(url, flush_interval=0.01, min_backoff=0.001, max_backoff=0.01)
    track(c, ev(0))
    c.close(timeout=20)
    return c


def notHTTP():
    c = tracking.Client(url, flush_interval=0.01, min_backoff=0.001, max_backoff=0.01)
    track(c, ev(0))
    c.close(timeout=20)
    return c


def noanswer():
    c = tracking.Client(url, flush_interval=0.01, max_retries=1, min_backoff=0.001, max_backoff=0.002, timeout=0.3)
    track(c, ev(0))
    c.close(timeout=20)
    return c


c = globals()[os.environ["SCENARIO"]]()
print(json.dumps({"stats": c.stats(), "errors": errors}))
