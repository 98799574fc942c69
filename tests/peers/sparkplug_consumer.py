"""An independent Sparkplug B consumer for Plantwatch's system tests and the publish benchmark.

It uses none of Plantwatch's code: paho-mqtt for MQTT and pysparkplug's own compiled copy of the official
sparkplug_b.proto (and its datatype decoders) for the payloads.

Usage:
  sparkplug_consumer.py --port PORT [--host 127.0.0.1] [--client-id ID] [--out FILE] [--count-only]
                        [--ca-file CA.pem] [--username USER --password-env VAR]

It subscribes `spBv1.0/#` with QoS 1 on a persistent session (clean_session false, a fixed client id): the
broker keeps what arrives while the consumer is away (a broker restart with persistence, a reconnect), so
nothing the node publishes is lost to the consumer. It prints `READY` once the subscription is granted (or
`ERROR <reason>` and exits 1 when the broker refuses it), then writes one JSON line per message to --out,
flushed before the message is acknowledged:

  {"recv_ms": 1764000000123, "topic": "spBv1.0/g/DDATA/n/d", "type": "DDATA", "group": "g", "node": "n",
   "device": "d", "seq": 7, "timestamp": 1764000000100,
   "metrics": [{"name": null, "alias": 12, "resolved_name": "level", "datatype": 10, "value": 1.234,
                "timestamp": 1764000000100, "is_historical": false, "is_null": false,
                "properties": {"quality": {"type": 3, "value": 192}}}]}

`resolved_name` is the name the alias had in the last birth of that node or device. STATE messages carry
their JSON in "state". A message that cannot be decoded is a line with an "error" field. Non-finite floats
are written as the strings "NaN", "inf", "-inf" (JSON has no such numbers).

With --count-only nothing is written: only messages and metrics are counted (for the benchmark): a
message's metrics are counted without decoding them, and it counts as historical when its first metric is
(the node batches replayed samples apart from live ones).

Commands on stdin, one answer line each on stdout:
  count                                   -> `messages M metrics N historical H first_ms F last_ms L`
  state HOST online|offline               -> publishes the Sparkplug 3.0 STATE of a primary host (retained,
                                             QoS 1), answers `ok` once the broker acknowledged it
  ncmd GROUP NODE NAME TYPE VALUE         -> publishes an NCMD writing one metric by name, `ok` when acked
  dcmd GROUP NODE DEVICE NAME TYPE VALUE  -> the same as a DCMD to one device
TYPE is a pysparkplug DataType name (BOOLEAN, UINT16, DOUBLE, STRING, ...); VALUE is JSON (true, 2.5, "x");
a NAME with spaces is written with %20 (`Node%20Control/Rebirth`).
"""

import argparse
import json
import math
import os
import sys
import threading
import time

import paho.mqtt.client as mqtt
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from pysparkplug import DataType
from pysparkplug._protobuf import Payload

NAMESPACE = "spBv1.0"


def metric_list_type():
    """A message type that reads a Sparkplug payload's metrics (field 2 of `Payload` in sparkplug_b.proto,
    each an embedded `Metric`) as bytes, unparsed, and skips its other fields: for counting."""
    file = descriptor_pb2.FileDescriptorProto(name="plantwatch_count.proto", package="plantwatch_count")
    message = file.message_type.add(name="MetricList")
    message.field.add(
        name="metrics",
        number=2,
        type=descriptor_pb2.FieldDescriptorProto.TYPE_BYTES,
        label=descriptor_pb2.FieldDescriptorProto.LABEL_REPEATED,
    )
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("plantwatch_count.MetricList"))


METRIC_LIST = metric_list_type()


def plain(value):
    """A decoded value as JSON can hold it."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def decode_value(datatype, holder):
    """The value of a protobuf Metric or PropertyValue, decoded by its datatype (signed integers travel
    as two's complement in the unsigned fields)."""
    field = holder.WhichOneof("value")
    if field is None:
        return None
    raw = getattr(holder, field)
    try:
        return plain(DataType(datatype).decode(raw))
    except (ValueError, NotImplementedError):
        return plain(raw)


def decode_properties(metric):
    if not metric.HasField("properties"):
        return {}
    props = {}
    for key, value in zip(metric.properties.keys, metric.properties.values):
        props[key] = {
            "type": value.type,
            "value": None if value.is_null else decode_value(value.type, value),
        }
    return props


class Consumer:
    def __init__(self, out, count_only):
        self.out = out
        self.count_only = count_only
        self.lock = threading.Lock()
        # (group, node, device or None) -> {alias: (name, datatype)} from the last birth.
        self.aliases = {}
        self.messages = 0
        self.metrics = 0
        self.historical = 0
        self.first_ms = 0
        self.last_ms = 0

    def on_message(self, _client, _userdata, message):
        now = int(time.time() * 1000)
        if self.count_only:
            self.count(message, now)
            return
        try:
            line = self.decode(message.topic, message.payload)
        except Exception as e:  # any failure to decode is a finding, reported as data
            line = {"topic": message.topic, "error": f"{type(e).__name__}: {e}"}
        line["recv_ms"] = now
        with self.lock:
            self.messages += 1
            self.metrics += len(line.get("metrics", []))
            self.historical += sum(1 for m in line.get("metrics", []) if m.get("is_historical"))
            self.first_ms = self.first_ms or now
            self.last_ms = now
            if self.out is not None:
                self.out.write(json.dumps(line, allow_nan=False) + "\n")
                self.out.flush()

    def count(self, message, now):
        metrics = historical = 0
        if not message.topic.startswith(NAMESPACE + "/STATE/"):
            try:
                # The payload's metrics counted as the protobuf runtime splits them, each decoded only
                # when it is the first: a full decode cost 50 ns a metric, a third of the consumer's CPU
                # in the replay benchmark, which shares two cores with Plantwatch.
                payload = METRIC_LIST.FromString(message.payload)
                metrics = len(payload.metrics)
                # A replay batch is historical as a whole: looking at its first metric keeps the count
                # near 10 million metrics/s, where checking each would hold it near 3 million.
                first = Payload.Metric.FromString(payload.metrics[0]) if metrics else None
                historical = metrics if first is not None and first.is_historical else 0
            except Exception:
                pass
        with self.lock:
            self.messages += 1
            self.metrics += metrics
            self.historical += historical
            self.first_ms = self.first_ms or now
            self.last_ms = now

    def decode(self, topic, raw):
        parts = topic.split("/")
        if len(parts) < 3 or parts[0] != NAMESPACE:
            raise ValueError(f"not a Sparkplug B topic: {topic}")
        if parts[1] == "STATE":
            return {"topic": topic, "type": "STATE", "host": parts[2], "state": json.loads(raw)}
        if len(parts) not in (4, 5):
            raise ValueError(f"a Sparkplug topic has 4 or 5 levels: {topic}")
        group, kind, node = parts[1], parts[2], parts[3]
        device = parts[4] if len(parts) == 5 else None
        payload = Payload.FromString(raw)
        key = (group, node, device)
        birth = kind in ("NBIRTH", "DBIRTH")
        if birth:
            self.aliases[key] = {}
        known = self.aliases.get(key, {})
        metrics = []
        for m in payload.metrics:
            alias = m.alias if m.HasField("alias") else None
            name = m.name if m.HasField("name") else None
            datatype = m.datatype if m.HasField("datatype") else None
            if birth and alias is not None:
                known[alias] = (name, datatype)
            resolved, birth_type = known.get(alias, (name, None)) if alias is not None else (name, None)
            decode_as = datatype if datatype else birth_type
            metrics.append(
                {
                    "name": name,
                    "alias": alias,
                    "resolved_name": resolved,
                    "datatype": datatype,
                    "value": None if m.is_null else decode_value(decode_as or 0, m),
                    "timestamp": m.timestamp if m.HasField("timestamp") else None,
                    "is_historical": m.is_historical,
                    "is_null": m.is_null,
                    "properties": decode_properties(m),
                }
            )
        return {
            "topic": topic,
            "type": kind,
            "group": group,
            "node": node,
            "device": device,
            "seq": payload.seq if payload.HasField("seq") else None,
            "timestamp": payload.timestamp if payload.HasField("timestamp") else None,
            "metrics": metrics,
        }

    def counts(self):
        with self.lock:
            return (
                f"messages {self.messages} metrics {self.metrics} historical {self.historical} "
                f"first_ms {self.first_ms} last_ms {self.last_ms}"
            )


def command_payload(name, type_name, value_text):
    datatype = DataType[type_name]
    payload = Payload()
    payload.timestamp = int(time.time() * 1000)
    metric = payload.metrics.add()
    metric.name = name.replace("%20", " ")
    metric.datatype = datatype
    metric.timestamp = payload.timestamp
    setattr(metric, datatype.field, datatype.encode(json.loads(value_text)))
    return payload.SerializeToString()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--client-id", default="plantwatch-test-consumer")
    parser.add_argument("--out")
    parser.add_argument("--count-only", action="store_true")
    parser.add_argument("--ca-file")
    parser.add_argument("--username")
    parser.add_argument("--password-env")
    args = parser.parse_args()

    out = open(args.out, "a", encoding="utf-8") if args.out else None
    consumer = Consumer(out, args.count_only)
    client = mqtt.Client(client_id=args.client_id, clean_session=False, protocol=mqtt.MQTTv311)
    if args.ca_file:
        client.tls_set(ca_certs=args.ca_file)
    if args.username:
        password = os.environ.get(args.password_env) if args.password_env else None
        client.username_pw_set(args.username, password)
    client.reconnect_delay_set(min_delay=0.1, max_delay=0.5)
    # Acknowledge a message only after it is written (paho acks QoS 1 once on_message returns).
    client.on_message = consumer.on_message
    ready = threading.Event()
    refused = []

    def on_connect(client, _userdata, _flags, rc):
        if rc != 0:
            refused.append(mqtt.connack_string(rc))
            ready.set()
            return
        client.subscribe(f"{NAMESPACE}/#", qos=1)

    def on_subscribe(_client, _userdata, _mid, _granted):
        ready.set()

    client.on_connect = on_connect
    client.on_subscribe = on_subscribe
    client.connect(args.host, args.port, keepalive=10)
    client.loop_start()
    if not ready.wait(20) or refused:
        print(f"ERROR {refused[0] if refused else 'no SUBACK within 20 s'}", flush=True)
        client.loop_stop()
        sys.exit(1)
    print("READY", flush=True)

    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        try:
            if words[0] == "count":
                print(consumer.counts(), flush=True)
                continue
            if words[0] == "state" and len(words) == 3:
                topic = f"{NAMESPACE}/STATE/{words[1]}"
                body = json.dumps({"online": words[2] == "online", "timestamp": int(time.time() * 1000)})
                info = client.publish(topic, body, qos=1, retain=True)
            elif words[0] == "ncmd" and len(words) == 6:
                _, group, node, name, type_name, value = words
                info = client.publish(
                    f"{NAMESPACE}/{group}/NCMD/{node}", command_payload(name, type_name, value), qos=1
                )
            elif words[0] == "dcmd" and len(words) == 7:
                _, group, node, device, name, type_name, value = words
                info = client.publish(
                    f"{NAMESPACE}/{group}/DCMD/{node}/{device}",
                    command_payload(name, type_name, value),
                    qos=1,
                )
            else:
                print(f"error unknown command {line.strip()!r}", flush=True)
                continue
            info.wait_for_publish(10)
            print("ok" if info.is_published() else "error not acknowledged", flush=True)
        except Exception as e:
            print(f"error {type(e).__name__}: {e}", flush=True)
    client.loop_stop()
    client.disconnect()


if __name__ == "__main__":
    main()
