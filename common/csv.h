/* CSV (RFC 4180) over an in-memory buffer, for the labelencode workload: a reader that
 * hands out one record at a time as (pointer, length) per field, a splitter that cuts the
 * data records into parts for parallel workers at record boundaries, and a writer.
 *
 * The dialect, read:
 *   - fields are separated by a one-byte delimiter (',' by default; not '"', CR or LF);
 *   - records end with LF or CRLF; the last record may lack one (a lone CR at the very
 *     end of the input ends it too); a CR that is not followed by LF inside an unquoted
 *     field is data;
 *   - a field may be quoted with '"'; inside quotes "" is one '"', and the delimiter, CR
 *     and LF are data;
 *   - a UTF-8 byte-order mark (EF BB BF) at offset 0 of the file is skipped;
 *   - an empty field is the empty label "" (so "a,,b" has three fields and "a," two);
 *   - blank lines (LF or CRLF alone) are skipped, as pandas does: they are no record;
 *   - errors (TVP_EINPUT, one line "line N: ..." in err, N the 1-based physical line,
 *     newlines inside quotes counted): a '"' inside an unquoted field, text after a
 *     closing quote before the delimiter or the end of the record, a quoted field not
 *     closed before the end of the input (N: the line where it opened).
 * Bytes are passed through as they are (any encoding, NUL included).
 *
 * No global state; never prints.  The reader never reads outside [buf+begin, buf+end). */
#ifndef TVP_CSV_H
#define TVP_CSV_H

#include "tvp.h"

#define TVP_CSV_DEFAULT_DELIM ','

/* One field of the current record: len bytes at p, not NUL-terminated.  p points into
 * the input, or (quoted fields with "" escapes) into the reader's scratch buffer. */
struct tvp_csv_field {
    const char *p;
    size_t len;
};

/* The reader.  Set up with tvp_csv_reader_init; pos and line may be read at any time
 * (between records: the offset of the next record and its 1-based line number); the rest
 * is private.  It owns two growable arrays, allocated on first need and grown by doubling
 * (never per field): the fields of the current record and one scratch buffer for unescaped
 * fields.  Both are reused from record to record: a record's fields are valid until the
 * next call of tvp_csv_next or tvp_csv_reader_free. */
struct tvp_csv_reader {
    const char *buf;
    size_t pos, end; /* next byte to read; end of the range */
    uint64_t line;   /* line number of pos */
    char delim;
    /* private */
    struct tvp_csv_field *fields;
    size_t *soff; /* escaped fields: offset in scratch, until the record is done */
    size_t fcap;
    char *scratch;
    size_t scap;
    unsigned char cls[256]; /* nonzero: a byte that stops an unquoted field */
};

/* Reads buf[begin, end), which must start at a record start (0, or a cut of
 * tvp_csv_split); line: the line number at begin (1 for the file's start, or the cut's).
 * At begin == 0 a UTF-8 BOM is skipped.  No allocation.  TVP_EUSAGE when delim is '"',
 * CR or LF or begin > end. */
int tvp_csv_reader_init(struct tvp_csv_reader *r, const char *buf, size_t begin, size_t end,
                        char delim, uint64_t line);

/* The next record: its field count (>= 1) with *fields set to them, 0 at the end of the
 * range, or TVP_EINPUT (message in err) or TVP_ENOMEM.  After an error the reader must not
 * be used again, except to free it.  For the header: init over the whole file, call this
 * once; then r->pos and r->line are where the data records start (for tvp_csv_split). */
int tvp_csv_next(struct tvp_csv_reader *r, const struct tvp_csv_field **fields, char *err,
                 size_t errlen);

void tvp_csv_reader_free(struct tvp_csv_reader *r);

/* ---- parallel split ---- */

/* A worker's share: buf[begin, end), whose first record is on line `line`. */
struct tvp_csv_part {
    size_t begin, end;
    uint64_t line;
};

/* Cuts buf[data_begin, len) into `parts` consecutive parts of about equal size, each
 * starting at a record start (never inside a quoted field, whatever newlines it holds):
 * part[0].begin = data_begin, part[i].end = part[i+1].begin, part[parts-1].end = len.
 * data_line: the line number at data_begin.  Parts may be empty (fewer records than
 * parts).  One pass that counts quotes (parity) and newlines, no allocation.  Reading the
 * parts with tvp_csv_reader_init(r, buf, part.begin, part.end, delim, part.line) gives
 * exactly the records of the whole range, in order; on malformed input (quote parity
 * broken by an error) the part that holds the first error still reports it.
 * TVP_EUSAGE when parts < 1 or data_begin > len. */
int tvp_csv_split(const char *buf, size_t len, size_t data_begin, uint64_t data_line,
                  int parts, struct tvp_csv_part *part);

/* ---- writer ---- */

/* The caller's output buffer: data[0, len), cap bytes allocated (malloc'd or NULL). */
struct tvp_csv_buf {
    char *data;
    size_t len, cap;
};

enum tvp_csv_put_flags {
    TVP_CSV_FIRST = 1u, /* the record's first field: no delimiter before it */
    TVP_CSV_LAST = 2u,  /* the record's last field: "\n" after it */
};

/* Appends one field (len bytes at p) to b, growing b->data with realloc when needed: the
 * delimiter first unless flags has TVP_CSV_FIRST, then the field, quoted (and its '"'
 * doubled) when it holds the delimiter, '"', CR or LF, or when it is the only field of
 * its record (FIRST|LAST) and empty (written as "", so that the line is not blank);
 * otherwise as it is (an empty field among others is nothing); then "\n" when flags has
 * TVP_CSV_LAST.  0 or TVP_ENOMEM (b is then unchanged but for a larger cap).  Reading the
 * output back gives the same fields, except that a file whose very first field starts with
 * the bytes EF BB BF loses them (read as a BOM); leading and trailing spaces are kept
 * unquoted (they are data to the reader). */
int tvp_csv_put(struct tvp_csv_buf *b, const char *p, size_t len, char delim, unsigned flags);

/* A whole record of n >= 1 fields, "\n"-terminated. */
int tvp_csv_put_record(struct tvp_csv_buf *b, const struct tvp_csv_field *f, size_t n,
                       char delim);

#endif
