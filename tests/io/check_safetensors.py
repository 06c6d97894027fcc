#!/usr/bin/env python3
"""Independent check of a safetensors file written by flowgrpo.

Usage: check_safetensors.py FILE EXPECTED_JSON

Parses FILE by the format specification alone (no flowgrpo code, no
safetensors package; only the standard library, so it runs wherever python3
does) and compares it with EXPECTED_JSON:
  {"metadata": {k: v}, "tensors": {name: {"dtype": "F32", "shape": [..],
   "values": [flattened row-major values]}}}
It also checks the layout the official writer produces: header padded with
spaces so that 8 + N is a multiple of 8, tensors stored by element size
descending then name, offsets tiling the buffer exactly.
Prints OK and exits 0, or prints the first problem and exits 1.
"""
import json
import struct
import sys

SIZES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2,
         "I8": 1, "U8": 1, "BOOL": 1}
FORMATS = {"F64": "d", "F32": "f", "F16": "e", "I64": "q", "I32": "i", "I16": "h",
           "I8": "b", "U8": "B", "BOOL": "B"}


def fail(message):
    print("FAIL: " + message)
    sys.exit(1)


def decode(dtype, raw, count):
    if dtype == "BF16":
        # bfloat16 is the upper half of a float32.
        halves = struct.unpack("<%dH" % count, raw)
        return [struct.unpack("<f", struct.pack("<I", h << 16))[0] for h in halves]
    values = list(struct.unpack("<%d%s" % (count, FORMATS[dtype]), raw))
    if dtype == "BOOL":
        for v in values:
            if v not in (0, 1):
                fail("BOOL byte %d is neither 0 nor 1" % v)
        values = [bool(v) for v in values]
    return values


def main():
    path, expected_path = sys.argv[1], sys.argv[2]
    with open(path, "rb") as f:
        data = f.read()
    with open(expected_path, "r", encoding="utf-8") as f:
        expected = json.load(f)

    if len(data) < 8:
        fail("file shorter than 8 bytes")
    (n,) = struct.unpack("<Q", data[:8])
    if 8 + n > len(data):
        fail("header length %d beyond file size %d" % (n, len(data)))
    if (8 + n) % 8 != 0:
        fail("8 + header length = %d is not a multiple of 8" % (8 + n))
    header_bytes = data[8:8 + n]
    text = header_bytes.decode("utf-8")
    stripped = text.rstrip(" ")
    if not stripped.startswith("{") or not stripped.endswith("}"):
        fail("header is not a JSON object followed by space padding: %r" % text[-16:])
    if len(text) - len(stripped) >= 8:
        fail("more padding than needed: %d spaces" % (len(text) - len(stripped)))
    header = json.loads(stripped)
    buffer = data[8 + n:]

    metadata = header.pop("__metadata__", {})
    if metadata != expected["metadata"]:
        fail("metadata %r != expected %r" % (metadata, expected["metadata"]))

    want = expected["tensors"]
    if sorted(header) != sorted(want):
        fail("tensor names %r != expected %r" % (sorted(header), sorted(want)))

    by_offset = sorted(header.items(), key=lambda kv: tuple(kv[1]["data_offsets"]))
    official_order = sorted(header, key=lambda name: (-SIZES[header[name]["dtype"]], name))
    if [name for name, _ in by_offset] != official_order:
        fail("storage order %r != official order %r" % ([k for k, _ in by_offset], official_order))

    position = 0
    for name, info in by_offset:
        begin, end = info["data_offsets"]
        if begin != position:
            fail("%s begins at %d, expected %d" % (name, begin, position))
        dtype, shape = info["dtype"], info["shape"]
        count = 1
        for d in shape:
            count *= d
        if end - begin != count * SIZES[dtype]:
            fail("%s spans %d bytes, expected %d" % (name, end - begin, count * SIZES[dtype]))
        if (8 + n + begin) % SIZES[dtype] != 0:
            fail("%s is not aligned for %s in the file" % (name, dtype))
        exp = want[name]
        if dtype != exp["dtype"] or shape != exp["shape"]:
            fail("%s is %s %r, expected %s %r" % (name, dtype, shape, exp["dtype"], exp["shape"]))
        values = decode(dtype, buffer[begin:end], count)
        if dtype == "BOOL":
            expected_values = [bool(v) for v in exp["values"]]
        else:
            expected_values = exp["values"]
        if values != expected_values:
            fail("%s values %r != expected %r" % (name, values[:8], expected_values[:8]))
        position = end
    if position != len(buffer):
        fail("data ends at %d but the buffer holds %d bytes" % (position, len(buffer)))
    print("OK %d tensors" % len(header))


if __name__ == "__main__":
    main()
