/* CSV (RFC 4180) over an in-memory buffer, for the labelencode workload: a reader that
 * hands out one record at a time as (pointer, length) per field, a splitter that cuts the
 * data records into parts for parallel workers at record boundaries (also computable by
 * processes that each read only their own window of the file), and a writer.
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
 * parts).  Part k >= 1 begins at the first record start at or after the target
 * t = data_begin + size/parts*k + size%parts*k/parts (size = len - data_begin), i.e. just
 * after the first '\n' at or after t - 1 outside quotes (quote state: the parity of '"'
 * bytes from data_begin), or at len; a target at or before the previous cut gives the
 * previous cut.  part[k].line = data_line + the '\n's (all of them, quoted ones too) in
 * [data_begin, part[k].begin).  One pass that counts quotes (parity) and newlines up to
 * the window of the last cut (the window functions below), no allocation.  Reading the
 * parts with tvp_csv_reader_init(r, buf, part.begin, part.end, delim, part.line) gives
 * exactly the records of the whole range, in order; on malformed input (quote parity
 * broken by an error) the part that holds the first error still reports it.
 * TVP_EUSAGE when parts < 1 or data_begin > len. */
int tvp_csv_split(const char *buf, size_t len, size_t data_begin, uint64_t data_line,
                  int parts, struct tvp_csv_part *part);

/* ---- the same split from windows, where no process holds the whole file ----
 *
 * Where each process reads only its own byte range of the file (MPI ranks on a shared
 * file system), the parts of tvp_csv_split come from three steps: the data
 * buf[data_begin, len) is cut into `parts` windows (tvp_csv_window_begin, the same
 * numbers everywhere); each process scans its window once (tvp_csv_window_scan) into a
 * small summary that holds for either quote state at the window's start; the summaries
 * are exchanged (MPI_Allgather of the struct as bytes); and every process computes all
 * the parts from them (tvp_csv_cuts: a pure function, O(parts)).  The parts are exactly
 * tvp_csv_split's (begin, end and line of each), malformed input and empty parts
 * included: window k >= 1 starts one byte before split's k-th target (the byte whose
 * '\n' would make the target a record start), so that cut lies in window k or a later
 * one, and the quote state at a window's start is the parity of the windows before it.
 * tvp_csv_split itself runs on these functions (scanning the windows in order, each only
 * as far as it must), so there is one definition of where cuts fall. */

#define TVP_CSV_NO_CUT UINT64_MAX

/* What one window of the data says about record starts, independent of what came before
 * it.  Fixed size (7 x uint64_t, no padding) and free of pointers: it may travel between
 * processes as bytes (of the same byte order). */
struct tvp_csv_window {
    uint64_t bytes;    /* the window's length: tvp_csv_cuts checks it against the window */
    uint64_t quotes;   /* '"' bytes in the window */
    uint64_t newlines; /* '\n' bytes in the window */
    /* for a window that starts outside quotes [0] or inside quotes [1]: the offset in the
     * window just after its first '\n' outside quotes (a record start, 1..bytes), or
     * TVP_CSV_NO_CUT if there is none; and the '\n's in the window before that offset
     * (that '\n' included; 0 with NO_CUT) */
    uint64_t cut[2], cut_newlines[2];
};

/* Where window k (0 <= k <= parts) of buf[data_begin, len) begins; window k is
 * [tvp_csv_window_begin(k), tvp_csv_window_begin(k + 1)).  Window 0 begins at data_begin,
 * window `parts` (the end) at len, window k in between at t - 1 for split's k-th target
 * t = data_begin + size/parts*k + size%parts*k/parts (size = len - data_begin), or at
 * data_begin when t is data_begin.  Never decreasing in k, within [data_begin, len];
 * windows may be empty (parts > size).  k < 0 gives data_begin, k > parts len.  Where
 * tvp_csv_cuts would refuse the arguments: data_begin > len counts as len; parts < 1 gives
 * data_begin for k <= 0, len otherwise. */
size_t tvp_csv_window_begin(size_t len, size_t data_begin, int parts, int k);

/* Scans the window's len bytes at p (any bytes; reads nothing outside them) into *w: one
 * pass, word-at-a-time while the quote parity matters and memchr or plain vectorized
 * counting elsewhere.  No allocation; never fails. */
void tvp_csv_window_scan(const char *p, size_t len, struct tvp_csv_window *w);

/* The parts from every window's summary w[0..parts) (window k scanned by
 * tvp_csv_window_scan over [tvp_csv_window_begin(len, data_begin, parts, k), ..(k + 1))),
 * exactly as tvp_csv_split(buf, len, data_begin, data_line, parts, part) gives them.
 * Reads only w and writes only part[0..parts).  TVP_EUSAGE when parts < 1, data_begin >
 * len, or a summary cannot be its window's (wrong bytes, counts or cuts out of range). */
int tvp_csv_cuts(const struct tvp_csv_window *w, size_t len, size_t data_begin,
                 uint64_t data_line, int parts, struct tvp_csv_part *part);

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

/* Makes room for `more` bytes after b->len: b->data grows (realloc, its capacity doubled
 * from 4 KiB as many times as needed) when fewer than `more` are free.  0, or TVP_ENOMEM
 * (b unchanged).  For writers that fill b->data themselves. */
int tvp_csv_buf_reserve(struct tvp_csv_buf *b, size_t more);

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
