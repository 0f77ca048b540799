#!/usr/bin/env python3
"""Writes our own vectors (tests/vectors): GeneralizedTime forms that
Albatross's decoder accepts besides the canonical YYYYMMDDHHMMSS[.mmm]Z, in
the layout of ../shared/vectors (NAME.der, NAME.txt, MANIFEST.tsv).

These are NOT recordings of the real Albatross: each expected value and
re-encoding is derived from asn1-combinators 0.3.2's reader and writer
(Asn_prim.Time.gen_time_of_string / pp_gen_time, see lib/asn1/der_time.c
and doc/quirks.md) and computed here with Python's datetime, independently
of the C code under test. Run it from anywhere; it rewrites the folder."""
import datetime
import os

HERE = os.path.dirname(os.path.abspath(__file__))
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def der(tag, content):
    n = len(content)
    if n < 0x80:
        head = bytes([n])
    else:
        b = n.to_bytes((n.bit_length() + 7) // 8, "big")
        head = bytes([0x80 | len(b)]) + b
    return bytes([tag]) + head + content


def explicit(n, content):
    return der(0xA0 | n, content)


def header(name):
    return der(0x30, der(0x02, b"\x05") + der(0x04, (1).to_bytes(8, "big")) +
               der(0x0C, name.encode()))


def subscribe_since(time):
    # wire { header, [0] command { [0] console { [2] subscribe { [0] since } } } }
    gt = der(0x18, time.encode())
    return der(0x30, header("a:b:c") + explicit(0, explicit(0, explicit(2, explicit(0, gt)))))


def console_data(time, line):
    # wire { header, [3] data { [3] console SEQUENCE { time, line } } }
    body = der(0x30, der(0x18, time.encode()) + der(0x0C, line.encode()))
    return der(0x30, header("a:b:c") + explicit(3, explicit(3, body)))


def canonical(t):
    """pp_gen_time: YYYYMMDDHHMMSS, ".mmm" when the fraction is not 0, Z."""
    s = t.strftime("%Y%m%d%H%M%S")
    if t.microsecond:
        s += ".%03d" % (t.microsecond // 1000)
    return s + "Z"


def span(t):
    d = t - EPOCH
    days = d.days
    ps = (d.seconds * 10**6 + d.microseconds) * 10**6
    return days, ps


def rfc3339(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%012d" % (t.microsecond * 10**6) + "Z"


def hexblock(b):
    h = b.hex()
    return "\n".join(h[i:i + 64] for i in range(0, len(h), 64)) or ""


HEAD = """wire:
  header:
    version: AV5 (encoded as INTEGER 5)
    sequence: 1 (0x0000000000000001)
    name: "a:b:c" (path=["a"; "b"] label=Some "c")
"""


def time_line(label, t):
    d, ps = span(t)
    return "%s: %s (RFC3339, frac 12 digits; span %d days + %d ps since epoch)" % (
        label, rfc3339(t), d, ps)


UTC = datetime.timezone.utc


def T(*a, ms=0):
    return datetime.datetime(*a, microsecond=ms * 1000, tzinfo=UTC)


# name, GeneralizedTime text, expected UTC value, description; "data" ones
# carry the time in a Console_data message, the others in
# Console_subscribe Since.
ACCEPTED = [
    ("time_zone_plus", "20240229123456+0100", T(2024, 2, 29, 11, 34, 56),
     "zone offset +0100: local time, 1 hour ahead of UTC"),
    ("time_zone_minus", "20240229123456-0530", T(2024, 2, 29, 18, 4, 56),
     "zone offset -0530: 5 h 30 min behind UTC"),
    ("time_zone_frac", "20240229123456.123+0100", T(2024, 2, 29, 11, 34, 56, ms=123),
     "fraction and zone offset"),
    ("time_zone_day_change", "20240301003000+0100", T(2024, 2, 29, 23, 30, 0),
     "zone offset moving the date back onto a leap day"),
    ("time_no_seconds", "202402291234Z", T(2024, 2, 29, 12, 34, 0),
     "no seconds (YYYYMMDDHHMMZ): 0 seconds"),
    ("time_no_seconds_zone", "202402291234-0100", T(2024, 2, 29, 13, 34, 0),
     "no seconds, zone offset"),
    ("time_no_minutes", "2024022912Z", T(2024, 2, 29, 12, 0, 0),
     "no minutes (YYYYMMDDHHZ): 0 minutes, 0 seconds"),
    ("time_frac_1_digit", "20240229123456.3Z", T(2024, 2, 29, 12, 34, 56, ms=3),
     "1 fraction digit: read as a number of milliseconds (.3 is 3 ms, quirk)"),
    ("time_frac_2_digits", "20240229123456.30Z", T(2024, 2, 29, 12, 34, 56, ms=30),
     "2 fraction digits: read as a number of milliseconds (.30 is 30 ms, quirk)"),
    ("time_leap_second", "20241231235960Z", T(2025, 1, 1, 0, 0, 0),
     "seconds 60 (a leap second): the next second"),
    ("data_console_zone", "20240229123456-0200", T(2024, 2, 29, 14, 34, 56),
     "Console_data timestamp with a zone offset"),
]

REFUSED = [
    ("time_zone_before_year_0", "00000101000000+0001",
     "GeneralizedTime: out of range: 00000101000000+0001",
     "zone offset moving 0000-01-01T00:00:00 before year 0 (out of Ptime's range)"),
    ("time_no_hour", "20240229Z", "GeneralizedTime: invalid format: 20240229Z",
     "no hour: the date and hour are required"),
    ("time_truncated", "202402", "GeneralizedTime: unexpected end: 202402",
     "ends inside the date"),
]


def main():
    manifest = ["# name\tkind\texpect\tfile\tmessage-or-description"]
    for name, text, value, desc in ACCEPTED:
        is_data = name.startswith("data_")
        make = (lambda t: console_data(t, "line")) if is_data else subscribe_since
        raw = make(text)
        canon = make(canonical(value))
        assert raw != canon, name
        if is_data:
            payload = "  payload: Data:\n    Console_data:\n      %s\n      line: \"line\"\n" % (
                time_line("timestamp", value))
        else:
            payload = "  payload: Command:\n    console_cmd:\n      %s\n" % (
                time_line("Console_subscribe Since", value))
        txt = (
            "name: %s\nkind: wire (decode as: --wire)\ndescription: GeneralizedTime \"%s\": %s\n"
            "length: %d bytes\noutcome: ACCEPTED\n\nhex:\n%s\n\n"
            "value (as Albatross decodes it, derived from asn1-combinators 0.3.2):\n%s%s\n"
            "re-encoding by albatross (canonical form \"%s\", differs from input; derived, not recorded):\n%s\n"
        ) % (name, text, desc, len(raw), hexblock(raw), HEAD, payload, canonical(value),
             hexblock(canon))
        open(os.path.join(HERE, name + ".der"), "wb").write(raw)
        open(os.path.join(HERE, name + ".txt"), "w").write(txt)
        manifest.append("%s\twire\tok-noncanonical\t%s.der\tGeneralizedTime \"%s\": %s" % (
            name, name, text, desc))
    for name, text, error, desc in REFUSED:
        raw = subscribe_since(text)
        txt = (
            "name: %s\nkind: wire (decode as: --wire)\ndescription: GeneralizedTime \"%s\": %s\n"
            "length: %d bytes\noutcome: REJECTED\n\nhex:\n%s\n\nerror: %s\n"
        ) % (name, text, desc, len(raw), hexblock(raw), error)
        open(os.path.join(HERE, name + ".der"), "wb").write(raw)
        open(os.path.join(HERE, name + ".txt"), "w").write(txt)
        manifest.append("%s\twire\terror\t%s.der\t%s" % (name, name, error))
    open(os.path.join(HERE, "MANIFEST.tsv"), "w").write("\n".join(manifest) + "\n")


if __name__ == "__main__":
    main()
