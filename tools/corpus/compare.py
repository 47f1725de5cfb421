#!/usr/bin/env python3
"""Holds what exconnect makes of real-world mail against Python's email package.

usage: compare.py CORPUS_DIR FIELDS_JSONL REPORT_MD [--min PERCENT]

FIELDS_JSONL is corpus-fields' output (one JSON object per message file of CORPUS_DIR).
Each message is parsed again here with email.message_from_bytes(policy=policy.default)
on the same bytes, field by field; REPORT_MD gets the agreement per field and every
disagreement. Exits 1 if From, Subject or Message-ID agree on fewer than PERCENT
(default 99) of the messages where the field applies, 2 on bad input.
"""
import email
import json
import re
import sys
from email import policy

REQUIRED = ("from_address", "subject", "message_id")
FIELDS = ("from_address", "from_name", "to", "cc", "subject", "message_id",
          "in_reply_to", "text", "attachments")
NA = object()  # the field does not apply to this message (e.g. no plain-text body)
UNNAMED_MESSAGE = "(an embedded message without a file name)"


def ws(s):
    """White space runs as one space, trimmed (folding and unfolding differ)."""
    return re.sub(r"\s+", " ", s or "").strip()


def first_id(value):
    """The first <id> of a header value, without brackets; else the trimmed value."""
    if value is None:
        return ""
    m = re.search(r"<([^<>]*)>", str(value))
    return (m.group(1) if m else str(value)).strip()


def python_fields(raw):
    msg = email.message_from_bytes(raw, policy=policy.default)
    out = {}

    def addresses(name):
        h = msg[name]
        if h is None:
            return []
        return [a.addr_spec.lower() for a in h.addresses if a.addr_spec not in ("", "<>")]

    def field(key, compute):
        try:
            out[key] = compute()
        except Exception as e:  # Python's parser gave up on this header: not comparable
            out[key] = ("python-error", f"{type(e).__name__}: {e}")

    def sender():
        h = msg["From"]
        if h is None or not h.addresses:
            return None
        return h.addresses[0]

    field("from_address",
          lambda: (sender().addr_spec.lower() if sender() and sender().addr_spec != "<>"
                   else ""))
    field("from_name", lambda: ws(sender().display_name) if sender() else "")
    field("to", lambda: addresses("To"))
    field("cc", lambda: addresses("Cc"))
    field("subject", lambda: ws(str(msg["Subject"])) if msg["Subject"] is not None else "")
    field("message_id", lambda: first_id(msg["Message-ID"]))
    field("in_reply_to", lambda: first_id(msg["In-Reply-To"]))

    def text():
        body = msg.get_body(preferencelist=("plain",))
        if body is None:
            return NA  # HTML-only or no body: exconnect's text is made from HTML
        return ws(body.get_content())[:100]

    field("text", text)

    def attachments():
        # Every leaf part's file name; an embedded message (message/rfc822, and the
        # message/* parts Python parses as containers) is one part, not walked into.
        names = []

        def visit(part, top):
            if part.get_content_maintype() == "multipart":
                for sub in part.iter_parts():
                    visit(sub, False)
                return
            if part.get_filename():
                names.append(ws(part.get_filename()))
            elif not top and part.get_content_type() == "message/rfc822":
                names.append(UNNAMED_MESSAGE)

        visit(msg, True)
        return sorted(names)

    field("attachments", attachments)
    return out


def exconnect_fields(line):
    return {
        "from_address": line["from"]["email"].lower(),
        "from_name": ws(line["from"]["name"]),
        "to": [a.lower() for a in line["to"]],
        "cc": [a.lower() for a in line["cc"]],
        "subject": ws(line["subject"]),
        "message_id": line["message_id"].strip(),
        "in_reply_to": line["in_reply_to"].strip(),
        "text": ws(line["text"])[:100],
        "attachments": sorted(ws(n) for n in line["attachments"] if n),
    }


def intentional(field, ex, py, msg_raw):
    """The documented difference (docs/corpus.md) this is an instance of, or None."""
    if field == "attachments" and len(ex) == len(py):
        rest = list(ex)
        for name in py:
            if name == UNNAMED_MESSAGE:
                match = next((e for e in rest if e.endswith(".eml")), None)
            else:
                match = name if name in rest else None
            if match is None:
                return None
            rest.remove(match)
        return "an embedded message is named after its subject"
    if field == "from_name" and py == "" and ex and f"({ex})" in ws(msg_raw):
        return "a comment after the address is the name"
    if field in ("to", "cc") and set(py) <= set(ex):
        name = field.capitalize() + ":"
        count = sum(1 for line in msg_raw.splitlines() if line.lower().startswith(name.lower()))
        if count > 1:
            return "every To/Cc header counts"
    if field in ("to", "cc", "from_address") and set(ex) <= set(py if isinstance(py, list) else [py]):
        left = set(py if isinstance(py, list) else [py]) - set(ex if isinstance(ex, list) else [ex])
        if left and all("@" not in a or "..." in a for a in left):
            return "an address without a domain, or with an invalid local part, is left out"
    return None


def short(v, n=160):
    s = json.dumps(v, ensure_ascii=False)
    return s if len(s) <= n else s[: n - 1] + "…"


def main(argv):
    args = [a for a in argv[1:] if not a.startswith("--min")]
    minimum = 99.0
    for a in argv[1:]:
        if a.startswith("--min="):
            minimum = float(a.split("=", 1)[1])
    if len(args) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    corpus, fields_path, report_path = args
    lines = []
    with open(fields_path, encoding="utf-8") as f:
        for n, text in enumerate(f, 1):
            try:
                lines.append(json.loads(text))
            except ValueError as e:
                print(f"compare: {fields_path}:{n}: not JSON: {e}", file=sys.stderr)
                return 2
    if not lines:
        print(f"compare: {fields_path} holds no message", file=sys.stderr)
        return 2
    stats = {k: {"agree": 0, "differ": 0, "na": 0, "intended": 0} for k in FIELDS}
    differences = []
    for line in lines:
        with open(f"{corpus}/{line['file']}", "rb") as f:
            raw = f.read()
        py = python_fields(raw)
        ex = exconnect_fields(line)
        header_text = raw.split(b"\n\n", 1)[0].decode("latin-1")
        for k in FIELDS:
            p = py[k]
            if p is NA or (isinstance(p, tuple) and p[0] == "python-error"):
                stats[k]["na"] += 1
                continue
            if p == ex[k]:
                stats[k]["agree"] += 1
            else:
                stats[k]["differ"] += 1
                why = intentional(k, ex[k], p, header_text)
                if why:
                    stats[k]["intended"] += 1
                differences.append((line["file"], k, ex[k], p, why or ""))

    def percent(s):
        n = s["agree"] + s["differ"]
        return 100.0 * s["agree"] / n if n else 100.0

    out = ["# exconnect against Python's email package", "",
           f"{len(lines)} messages from `{corpus}`; Python {sys.version.split()[0]}, "
           "`email.message_from_bytes(raw, policy=policy.default)`.", "",
           "| field | agree | differ | of which intended | not comparable | agreement |",
           "| --- | --- | --- | --- | --- | --- |"]
    for k in FIELDS:
        s = stats[k]
        out.append(f"| {k} | {s['agree']} | {s['differ']} | {s['intended']} | {s['na']} "
                   f"| {percent(s):.1f} % |")
    out += ["", "Not comparable: Python's parser raised for the header, or (text) the "
            "message has no text/plain body.", "", "## Every difference", "",
            "Intended: an instance of a difference docs/corpus.md explains.", "",
            "| file | field | exconnect | Python | intended |",
            "| --- | --- | --- | --- | --- |"]
    for file, k, e, p, why in differences:
        cell = lambda v: short(v).replace("|", "\\|")
        out.append(f"| {file} | {k} | {cell(e)} | {cell(p)} | {why} |")
    with open(report_path, "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")
    failed = False
    for k in FIELDS:
        mark = ""
        if k in REQUIRED and percent(stats[k]) < minimum:
            mark = f"  (below {minimum:g} %)"
            failed = True
        print(f"compare: {k:12} {percent(stats[k]):6.1f} % of "
              f"{stats[k]['agree'] + stats[k]['differ']} "
              f"({stats[k]['intended']} intended differences){mark}")
    print(f"compare: report in {report_path}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
