#!/usr/bin/env python3
"""tvp's labelencode workload (scikit-learn's LabelEncoder, column by column, over a CSV
table), computed without tvp: the reference the script tests compare tvp's output with.

usage: lenc_reference.py IN.csv OUT.csv [CLASSES.json] [--columns a,b] [--delimiter C]
                         [--classes-in FILE [--inverse]]

  fit (default)   the classes of each encoded column are its distinct labels sorted by
                  their UTF-8 bytes (LabelEncoder's classes_); each label becomes its index
  --classes-in    transform with the classes of FILE (a label not among them: an error)
  --inverse       (with --classes-in) codes back to labels

OUT.csv ("-": standard output) gets the header record, then every record with the encoded
columns replaced; the other columns are copied.  CLASSES.json, when given, gets the
classes (fitted, or those of --classes-in) in tvp's format.  --columns is itself read as
one CSV record with ',' (so names with commas can be quoted); without it every column is
encoded (with --classes-in: the columns FILE names, in header order).  The encoded columns
are always taken in header order.

Everything works on bytes, as tvp does: the CSV dialect is the one common/csv.h specifies,
read with a parser of its own rather than Python's csv module, which differs from it (a
lone CR ends a record there but is data here; '"' inside an unquoted field and text after
a closing quote are accepted there but are errors here; it wants decoded text).  Labels
need not be UTF-8 unless they go into a JSON classes file.  Fields are written as
tvp_csv_put does: quoted (with '"' doubled) when they hold the delimiter, '"', CR or LF,
or when a record's only field is empty; otherwise as they are.  The classes file is
written as tvp_labels_write_json does, byte for byte.

Exit status: 0; 2 with one line on standard error for a bad command line or bad input
(then no file is written)."""
import argparse
import json
import re
import sys

BOM = b"\xef\xbb\xbf"
LF, CR, QUOTE = 0x0A, 0x0D, 0x22


class Failure(Exception):
    """a bad command line or bad input: one line for standard error"""


# ---- CSV, as common/csv.h specifies it ------------------------------------------------------


def read_records(buf, delim, name):
    """The records of buf (bytes), one at a time, as (line, [field bytes]) with the 1-based
    physical line of each record's start (an error is raised when its record is reached).
    A UTF-8 BOM at offset 0 is skipped; blank lines (LF, CRLF, or a lone CR at the very
    end) are no record; a CR not followed by LF in an unquoted field is data."""
    d = delim[0]
    unquoted = re.compile(b"[^" + re.escape(delim) + b'"\r\n]*')
    n = len(buf)
    pos = 3 if buf.startswith(BOM) else 0
    line = 1

    def field_next(p, line):
        """what follows a field at p: (0 another field, 1 end of record, -1 a bad byte),
        the position after it and the line number there"""
        if p == n:
            return 1, p, line
        c = buf[p]
        if c == d:
            return 0, p + 1, line
        if c == LF:
            return 1, p + 1, line + 1
        if c == CR and (p + 1 == n or buf[p + 1] == LF):
            return (1, p + 2, line + 1) if p + 1 < n else (1, p + 1, line)
        return -1, p, line

    while True:
        while True:  # blank lines
            if pos < n and buf[pos] == LF:
                pos += 1
                line += 1
            elif buf[pos:pos + 2] == b"\r\n":
                pos += 2
                line += 1
            elif n - pos == 1 and buf[pos] == CR:
                pos += 1
            else:
                break
        if pos >= n:
            return
        start_line = line
        fields = []
        while True:
            if pos < n and buf[pos] == QUOTE:
                pieces = []
                q = pos + 1
                while True:
                    c = buf.find(b'"', q)
                    if c < 0:
                        raise Failure("%s:%d: unterminated quoted field" % (name, line))
                    if c + 1 < n and buf[c + 1] == QUOTE:
                        pieces.append(buf[q:c + 1])
                        q = c + 2
                        continue
                    pieces.append(buf[q:c])
                    break
                line += buf.count(b"\n", pos + 1, c)
                fields.append(b"".join(pieces))
                kind, pos, line = field_next(c + 1, line)
                if kind < 0:
                    raise Failure("%s:%d: text after a closing quote" % (name, line))
            else:
                s = pos
                while True:
                    pos = unquoted.match(buf, pos).end()
                    if pos + 1 < n and buf[pos] == CR and buf[pos + 1] != LF:
                        pos += 1  # a CR that ends no record is data
                        continue
                    break
                fields.append(buf[s:pos])
                kind, pos, line = field_next(pos, line)
                if kind < 0:
                    raise Failure("%s:%d: '\"' inside an unquoted field" % (name, line))
            if kind == 1:
                break
        yield start_line, fields


def put_record(out, fields, delim):
    """appends one record to out (a list of bytes), as tvp_csv_put writes it"""
    special = (delim, b'"', b"\r", b"\n")
    parts = []
    for f in fields:
        if (len(fields) == 1 and f == b"") or any(s in f for s in special):
            parts.append(b'"' + f.replace(b'"', b'""') + b'"')
        else:
            parts.append(f)
    out.append(delim.join(parts) + b"\n")


# ---- the classes file, as common/labels.h specifies it ---------------------------------------


def show(b):
    """a label for a message: its text in double quotes (undecodable bytes escaped)"""
    return '"%s"' % b.decode("utf-8", "backslashreplace")


def json_string(b, what):
    try:
        b.decode("utf-8", "strict")  # also refuses surrogates, overlong forms, > U+10FFFF
    except UnicodeDecodeError as e:
        raise Failure("%s is not valid UTF-8 (byte %d)" % (what, e.start))
    out = bytearray(b'"')
    for c in b:
        if c == QUOTE:
            out += b'\\"'
        elif c == 0x5C:
            out += b"\\\\"
        elif c < 0x20:
            out += b"\\u00%02x" % c
        else:
            out.append(c)
    out += b'"'
    return bytes(out)


def classes_json(columns, path):
    """columns: [(name bytes, [class bytes])] -> the file's bytes"""
    if not columns:
        return b"{}\n"
    lines = []
    for name, classes in columns:
        n = json_string(name, "%s: the name of column %s" % (path, show(name)))
        cs = [json_string(c, "%s: column %s: class %d, %s," % (path, show(name), i, show(c)))
              for i, c in enumerate(classes)]
        lines.append(b"  " + n + b": [" + b", ".join(cs) + b"]")
    return b"{\n" + b",\n".join(lines) + b"\n}\n"


def read_classes(path):
    """the --classes-in file: [(name bytes, [class bytes])] in file order, checked"""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise Failure("%s: cannot open: %s" % (path, e.strerror))
    if not raw:
        raise Failure("%s: empty file" % path)

    class Obj(list):
        """a JSON object, as its (key, value) pairs in order"""

    def pairs(items):
        seen = set()
        for k, _ in items:
            if k in seen:
                raise Failure('%s: duplicate column "%s"' % (path, k))
            seen.add(k)
        return Obj(items)

    try:
        doc = json.loads(raw.decode("utf-8", "strict"), object_pairs_hook=pairs)
    except UnicodeDecodeError as e:
        raise Failure("%s: not valid UTF-8 (byte %d)" % (path, e.start))
    except ValueError as e:
        raise Failure("%s: %s" % (path, e))
    if not isinstance(doc, Obj) or any(not isinstance(v, list) or isinstance(v, Obj)
                                       for _, v in doc):
        raise Failure("%s: expected an object of arrays of strings" % path)
    columns = []
    try:
        for k, v in doc:
            if any(not isinstance(s, str) for s in v):
                raise Failure("%s: column %r: expected strings" % (path, k))
            name, classes = k.encode("utf-8"), [s.encode("utf-8") for s in v]
            for i in range(1, len(classes)):
                if classes[i - 1] >= classes[i]:
                    raise Failure("%s: column %s: class %d, %s: not sorted as "
                                  "LabelEncoder's classes_" % (path, show(name), i,
                                                               show(classes[i])))
            columns.append((name, classes))
    except UnicodeEncodeError:
        raise Failure("%s: a lone surrogate in a \\u escape" % path)
    return columns


# ---- labelencode -------------------------------------------------------------------------------


def parse_code(b):
    """a code: ASCII decimal digits (leading zeros allowed), or None"""
    if not b or any(c < 0x30 or c > 0x39 for c in b):
        return None
    return int(b)


def labelencode(buf, name, delim, columns_arg, classes_in, inverse, classes_path):
    # the order of tvp's errors: the header, the options and classes file, then the data
    # records in order (CSV errors and field counts), then the values
    records = read_records(buf, delim, name)
    header = next(records, None)
    if header is None:
        raise Failure("%s:1: empty file" % name)
    header_line, header = header
    index = {}
    for i, h in enumerate(header):
        if h in index:
            raise Failure("%s:%d: duplicate column name %s" % (name, header_line, show(h)))
        index[h] = i

    given = None
    if classes_in is not None:
        given = dict(read_classes(classes_in))
        for c in given:  # every column it names, also with --columns
            if c not in index:
                raise Failure("%s: column %s is not in %s" % (classes_in, show(c), name))
    if columns_arg is not None:
        arg = columns_arg.encode("utf-8", "surrogateescape")
        recs = list(read_records(arg, b",", "--columns"))
        if len(recs) != 1:
            raise Failure("--columns: expected one list of names")
        sel = []
        for c in recs[0][1]:
            if c not in index:
                raise Failure("--columns: no column %s in %s (it has: %s)" % (
                    show(c), name, ", ".join(h.decode("utf-8", "backslashreplace")
                                             for h in header)))
            if index[c] in sel:
                raise Failure("--columns: column %s is given twice" % show(c))
            sel.append(index[c])
        sel.sort()
        if given is not None:
            for k in sel:
                if header[k] not in given:
                    raise Failure("%s: no classes for column %s" % (classes_in, show(header[k])))
    elif given is not None:
        sel = sorted(index[c] for c in given)
    else:
        sel = list(range(len(header)))

    rows = []
    for line, f in records:
        if len(f) != len(header):
            raise Failure("%s:%d: row has %d field%s, the header has %d" % (
                name, line, len(f), "" if len(f) == 1 else "s", len(header)))
        rows.append((line, f))

    if given is None:
        classes = [sorted({f[k] for _, f in rows}) for k in sel]
    else:
        classes = [given[header[k]] for k in sel]
    lookup = [{c: i for i, c in enumerate(cl)} for cl in classes]

    out = []
    put_record(out, header, delim)
    for line, f in rows:
        f = list(f)
        for j, k in enumerate(sel):
            v = f[k]
            if inverse:
                code = parse_code(v)
                if code is None or code >= len(classes[j]):
                    raise Failure("%s:%d: column %s: %s is not a code: the column has %d "
                                  "classes, codes 0 to %d" % (name, line, show(header[k]),
                                                              show(v), len(classes[j]),
                                                              len(classes[j]) - 1))
                f[k] = classes[j][code]
            else:
                code = lookup[j].get(v)
                if code is None:
                    raise Failure("%s:%d: column %s: unseen label %s (not in %s)" % (
                        name, line, show(header[k]), show(v), classes_in))
                f[k] = b"%d" % code
        put_record(out, f, delim)

    js = None
    if classes_path is not None:
        js = classes_json([(header[k], classes[j]) for j, k in enumerate(sel)], classes_path)
    return b"".join(out), js


def main(argv):
    ap = argparse.ArgumentParser(
        prog="lenc_reference.py",
        description="tvp's labelencode workload (LabelEncoder per column), without tvp")
    ap.add_argument("input", metavar="IN.csv")
    ap.add_argument("output", metavar="OUT.csv", help='"-": standard output')
    ap.add_argument("classes", metavar="CLASSES.json", nargs="?",
                    help="where to write the classes (none: not written)")
    ap.add_argument("--columns", help="the columns to encode, as one CSV record")
    ap.add_argument("--delimiter", default=",",
                    help="one byte (default ','; '\\t' or 'tab': a tab)")
    ap.add_argument("--classes-in", metavar="FILE", help="transform with these classes")
    ap.add_argument("--inverse", action="store_true", help="codes back to labels")
    a = ap.parse_args(argv)
    try:
        delim = {"\\t": "\t", "tab": "\t"}.get(a.delimiter, a.delimiter)
        delim = delim.encode("utf-8", "surrogateescape")
        if len(delim) != 1 or delim in (b'"', b"\r", b"\n"):
            raise Failure("--delimiter %r: one byte, not '\"', CR or LF" % a.delimiter)
        if a.inverse and a.classes_in is None:
            raise Failure("--inverse needs --classes-in")
        try:
            with open(a.input, "rb") as f:
                buf = f.read()
        except OSError as e:
            raise Failure("%s: cannot open: %s" % (a.input, e.strerror))
        out, js = labelencode(buf, a.input, delim, a.columns, a.classes_in, a.inverse,
                              a.classes)
        if a.output == "-":
            sys.stdout.buffer.write(out)
            sys.stdout.buffer.flush()
        else:
            with open(a.output, "wb") as f:
                f.write(out)
        if js is not None:
            with open(a.classes, "wb") as f:
                f.write(js)
    except Failure as e:
        sys.stderr.write("lenc_reference.py: %s\n" % str(e).replace("\n", " "))
        return 2
    except OSError as e:
        sys.stderr.write("lenc_reference.py: %s: %s\n" % (e.filename, e.strerror))
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
