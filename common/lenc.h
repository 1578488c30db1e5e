/* The labelencode engine: scikit-learn's LabelEncoder, column by column, over a CSV table,
 * in pieces that any backend can run on its own worker.
 *
 * The steps of one run, for the whole table or for one part of it (a tvp_csv_part):
 *
 *   table     the header (column names, which columns are encoded) and, for transform and
 *             inverse, the classes fitted earlier (--classes-in); built once, read-only,
 *             the same on every process (each builds it from the same bytes)
 *   parse     a worker reads its part's records into cells (one span per field)
 *   fit       FIT: a set of distinct labels per encoded column, each cell's local id;
 *             TRANSFORM: each cell's class index, looked up in the given classes;
 *             INVERSE: each cell's code, checked against the given classes
 *   merge     FIT only, once for all workers: the sorted union of every worker's sets is
 *             the classes; each worker gets a map from its local ids to class indices
 *   encode    FIT only: each cell's local id becomes its class index through the map
 *   format    the part's records as CSV text: encoded columns are codes (decimal), or
 *             labels for INVERSE; the others are copied (quoted where needed)
 *
 * The output is the header record then every part's text in order: byte-identical for any
 * split, worker count and backend.
 *
 * Errors are deterministic: a part stops at its first error and keeps it; the errors of a
 * step are agreed before the next step starts (the earliest part that has one wins), so
 * structural errors (found by parse) come before value errors (found by fit), whatever
 * the split.  Messages are one line, "NAME:LINE: what is wrong", NAME the input file's
 * name (or "generated").
 *
 * Everything here is pure in the backends' sense: no threads, no printing, no global
 * state.  A worker's functions touch only that worker's struct and read the table, so
 * threads may run them on different workers at once. */
#ifndef TVP_LENC_H
#define TVP_LENC_H

#include "csv.h"
#include "labels.h"
#include "tvp.h"

enum tvp_lenc_mode {
    TVP_LENC_FIT,       /* fit and transform: the classes come from the data */
    TVP_LENC_TRANSFORM, /* --classes-in: transform with classes fitted earlier */
    TVP_LENC_INVERSE,   /* --classes-in --inverse: codes back to labels */
};

#define TVP_LENC_MSG 512 /* bytes of a worker's error message */

/* What every worker needs before it reads its part. */
struct tvp_lenc_table {
    const char *name; /* the input's name in messages ("generated" without --in) */
    char delim;
    enum tvp_lenc_mode mode;
    size_t ncols;            /* fields in the header */
    struct tvp_labels names; /* the header's names; id = column index (all distinct) */
    size_t nsel;             /* columns encoded */
    size_t *sel;             /* [nsel] their column indices, ascending */
    int64_t *sel_of;         /* [ncols] index in sel, or -1 for a column copied as it is */
    size_t data_begin;       /* offset of the first data record (after the header) */
    uint64_t data_line;      /* its line number */
    struct tvp_csv_buf header; /* the header record as the output writes it */
    /* TRANSFORM, INVERSE: [nsel] the classes of each encoded column (ids = class
     * indices); NULL for FIT */
    struct tvp_labels *classes;
    /* private: the --classes-in name for messages (a copy; name is a copy too) */
    const char *classes_name;
};

/* Builds the table from the start of the input, buf[0, len), which must hold at least the
 * whole header record (len may end right after it, as when only the header's bytes were
 * shared with this process; a header without a final newline counts as whole at len).
 *   columns: the --columns list ("a,b", itself read as one CSV record with ',', so names
 *            with commas can be quoted), or NULL: every column (TRANSFORM and INVERSE
 *            without --columns: the columns the classes file names, in header order);
 *   classes_json, classes_len, classes_name: the --classes-in file's bytes and path
 *            (TRANSFORM and INVERSE; NULL for FIT).
 * Errors (TVP_EINPUT, or TVP_EUSAGE for the --columns list; one line in err):
 *   "NAME:1: empty file" (no header record at all), a CSV error in the header,
 *   "NAME:1: duplicate column name \"a\"",
 *   "--columns: no column \"x\" in NAME (it has: a, b, c)", a name given twice,
 *   classes-file errors as tvp_labels_parse_json gives them, and
 *   "CLASSES: no classes for column \"c\"", "CLASSES: column \"x\" is not in NAME".
 * On failure t is left empty (tvp_lenc_table_free is harmless). */
int tvp_lenc_table_init(struct tvp_lenc_table *t, const char *name, const char *buf, size_t len,
                        char delim, const char *columns, enum tvp_lenc_mode mode,
                        const char *classes_json, size_t classes_len, const char *classes_name,
                        char *err, size_t errlen);
void tvp_lenc_table_free(struct tvp_lenc_table *t);

/* Timings of one worker's steps in the last run (seconds, tvp_now). */
struct tvp_lenc_times {
    double parse, fit, encode, format;
};

/* One worker's part and everything it builds.  Zero it (or tvp_lenc_worker_init), set the
 * part, call the steps in order; between runs tvp_lenc_worker_reset keeps the memory. */
struct tvp_lenc_worker {
    /* the part: records in buf[begin, end), the first on line `line`.  buf may be the
     * whole input or a private copy of the part (then begin = 0); the part is never read
     * as the start of a file (no byte-order mark is skipped). */
    const char *buf;
    size_t begin, end;
    uint64_t line;
    /* after parse */
    uint64_t rows;
    struct tvp_csv_field *cells; /* [rows * ncols], row-major; spans into buf or arena */
    /* after fit: FIT, [nsel] local sets (ids = local ids) */
    struct tvp_labels *sets;
    uint32_t *ids; /* [rows * nsel] row-major: local id, then class index / code */
    /* after format */
    struct tvp_csv_buf out;
    struct tvp_lenc_times t;
    /* the first error of this part: 0 or a TVP_E* code, with msg */
    int err;
    char msg[TVP_LENC_MSG];
    /* private */
    size_t cells_cap, ids_cap;
    char **arena; /* unescaped fields' copies */
    size_t narena, arena_cap, arena_used, arena_left;
    size_t nsets; /* entries of sets (allocated by the first fit) */
};

void tvp_lenc_worker_init(struct tvp_lenc_worker *w);
/* Forgets the last run's results (rows, sets, out, err) but keeps allocated memory. */
void tvp_lenc_worker_reset(struct tvp_lenc_worker *w);
void tvp_lenc_worker_free(struct tvp_lenc_worker *w);

/* The steps.  Each returns 0 or the error it also keeps in w->err/w->msg (a worker with
 * an error must not run later steps).  parse: TVP_EINPUT for a CSV error or "NAME:LINE:
 * row has 4 fields, the header has 3"; fit: TVP_EINPUT for "NAME:LINE: column \"c\":
 * unseen label \"x\" (not in CLASSES)" (TRANSFORM) or "NAME:LINE: column \"c\": \"7\" is
 * not a code: the column has 3 classes, codes 0 to 2" (INVERSE); TVP_ENOMEM.  INVERSE
 * codes are decimal digits only (no sign or spaces; leading zeros are accepted, as pandas
 * reads "01" as 1).  Labels in messages are escaped and cut after 40 bytes. */
int tvp_lenc_worker_parse(const struct tvp_lenc_table *t, struct tvp_lenc_worker *w);
int tvp_lenc_worker_fit(const struct tvp_lenc_table *t, struct tvp_lenc_worker *w);
/* FIT: map holds, for each encoded column k in order, tvp_labels_count(&w->sets[k])
 * entries: the class index of each local id (tvp_lenc_map_len entries in all). */
int tvp_lenc_worker_encode(const struct tvp_lenc_table *t, struct tvp_lenc_worker *w,
                           const uint32_t *map);
int tvp_lenc_worker_format(const struct tvp_lenc_table *t, struct tvp_lenc_worker *w);

/* FIT: entries of a worker's map (the sum of its sets' counts). */
size_t tvp_lenc_map_len(const struct tvp_lenc_table *t, const struct tvp_labels *sets);

/* FIT: the merge of encoded column k: the sorted union of sets[i][k] for every worker i
 * (sets[i] is worker i's array of nsel sets) into classes (set up by the call), and in
 * maps[i] + offset of column k in worker i's map, each local id's class index.  Columns
 * are independent: threads may merge different columns at once. */
int tvp_lenc_merge_column(const struct tvp_lenc_table *t, size_t k,
                          const struct tvp_labels *const *sets, int nworkers,
                          struct tvp_labels *classes, uint32_t *const *maps);

/* Label sets as bytes, for workers in other processes: a worker's nsel sets appended to b
 * (little-endian: per set a u64 count, then per label a u32 length and its bytes, in id
 * order).  unpack fills sets[0..nsel) with the same ids.  The sets must be set up: each
 * initialised (tvp_labels_init) or holding what an earlier unpack (or any insert) put
 * there; they are cleared (tvp_labels_clear: their memory is reused, so unpacking into the
 * same sets run after run allocates nothing once they have grown) and refilled.  On
 * failure they are left empty, still set up.  Either way the caller frees them
 * (tvp_labels_free) when done with them.  TVP_EINPUT on malformed bytes (short, trailing
 * bytes, a label twice); never reads past len. */
int tvp_lenc_pack_sets(const struct tvp_lenc_table *t, const struct tvp_labels *sets,
                       struct tvp_csv_buf *b);
int tvp_lenc_unpack_sets(const struct tvp_lenc_table *t, const void *p, size_t len,
                         struct tvp_labels *sets);

/* The classes (FIT: merged; otherwise the table's) to path as JSON, atomically. */
int tvp_lenc_write_classes(const struct tvp_lenc_table *t, const struct tvp_labels *classes,
                           const char *path, char *err, size_t errlen);

/* The whole job on one worker: buf[0, len) is the whole input.  out receives the header and
 * every record (appended to what it holds); classes (FIT: [nsel] set up by the call, NULL
 * to skip; left empty on failure) the classes.  The
 * serial reference, and the way tests run the engine.  0 or an error with its message. */
int tvp_lenc_reference(const struct tvp_lenc_table *t, const char *buf, size_t len,
                       struct tvp_csv_buf *out, struct tvp_labels *classes, char *err,
                       size_t errlen);

/* ---- the generated table (no --in): deterministic, random access by row ----------- */
struct tvp_lenc_gen {
    uint64_t rows, seed;
    uint32_t columns;     /* --columns-count */
    uint32_t cardinality; /* distinct labels each column draws from */
    double skew;          /* Zipf exponent: label of rank r drawn with weight 1/r^skew; 0
                             uniform */
    char delim;
    /* private: the cumulative weights, set up by init */
    double *cdf;
};
/* TVP_EUSAGE (message in err) for columns or cardinality of 0, skew < 0 or not finite. */
int tvp_lenc_gen_init(struct tvp_lenc_gen *g, char *err, size_t errlen);
void tvp_lenc_gen_free(struct tvp_lenc_gen *g);
/* Appends the header record, or data rows [b, e) (row i depends only on the seed and i;
 * one line per row: generated labels hold no newline), to out. */
int tvp_lenc_gen_header(const struct tvp_lenc_gen *g, struct tvp_csv_buf *out);
int tvp_lenc_gen_rows(const struct tvp_lenc_gen *g, uint64_t b, uint64_t e,
                      struct tvp_csv_buf *out);

#endif
