/* Label sets for the labelencode workload (scikit-learn's LabelEncoder): a hash set of
 * distinct byte strings with ids, the merge of several workers' sets into the sorted
 * classes, and the JSON classes file.
 *
 * Labels are byte strings given as (pointer, length): any bytes, NUL included, the empty
 * label "" too.  Order is byte order (memcmp over the common length, then the shorter
 * first), which for UTF-8 text is Unicode code-point order, the order numpy sorts str in,
 * so a sorted set's ids are LabelEncoder's classes_ indices.
 *
 * The set: open addressing (linear probing, load <= 1/2) over a 64-bit wyhash-style hash
 * of the bytes; each slot holds 32 bits of the hash and the id, so a probe touches the
 * label bytes only on a likely match.  The set owns copies of the labels, in an arena of
 * chunks (4 KiB doubling to 1 MiB; a longer label gets a chunk of its own), so a label's
 * bytes never move while the set holds it, and inserting costs no allocation per label.
 * tvp_labels_clear empties a set but keeps its table, its id array and its chunks, so a
 * set refilled run after run (a worker's local sets) allocates nothing once it has grown.
 * Ids are 0, 1, 2, ... in insertion order (or byte order after tvp_labels_sort); at most
 * UINT32_MAX - 1 labels.
 *
 * No global state; never prints.  A set is not thread-safe for writers; any number of
 * threads may look up in a set nobody modifies. */
#ifndef TVP_LABELS_H
#define TVP_LABELS_H

#include "tvp.h"

/* One label: len bytes at p (not NUL-terminated). */
struct tvp_label {
    const char *p;
    size_t len;
};

struct tvp_labels_chunk; /* private: a chunk of a set's arena */

struct tvp_labels {
    /* private: use the functions below */
    uint64_t *slots; /* (hash >> 32) << 32 | (id + 1); 0: empty */
    size_t mask;     /* slot count - 1 (slots == NULL: no table yet) */
    struct tvp_label *items; /* by id */
    size_t count, cap;
    /* the arena: a list of nchunks chunks; those up to `last` hold the labels (last is
     * filled up to cur; NULL: none yet), the ones after it are kept from before a
     * tvp_labels_clear, to be filled again */
    struct tvp_labels_chunk *chunks, *last;
    size_t nchunks;
    char *cur; /* free room in last */
    size_t cur_left, next_chunk;
};

/* An empty set; no allocation. */
void tvp_labels_init(struct tvp_labels *s);
/* Frees everything; the set is empty (and usable) afterwards. */
void tvp_labels_free(struct tvp_labels *s);
/* Empties the set (a set set up by tvp_labels_init, or one that holds labels) and keeps
 * its memory for the labels inserted next: the count is 0, ids start again at 0, no
 * earlier label is found, and the hash table, the id array and the arena's chunks stay
 * allocated (the chunks are filled again from the first; the bytes of the labels it held,
 * from tvp_labels_get, are not valid any more).  Refilling it with as many labels of the
 * same lengths in the same order (the same labels again, say) allocates nothing.  Clear
 * itself allocates nothing and never fails; tvp_labels_free still frees it all. */
void tvp_labels_clear(struct tvp_labels *s);

/* The id of the label (len bytes at p), added (copied) when it is new: id >= 0, or
 * TVP_ENOMEM, or TVP_EINPUT when the set already holds UINT32_MAX - 1 labels. */
int64_t tvp_labels_insert(struct tvp_labels *s, const void *p, size_t len);
/* The label's id, or -1 when the set does not hold it. */
int64_t tvp_labels_lookup(const struct tvp_labels *s, const void *p, size_t len);

static inline size_t tvp_labels_count(const struct tvp_labels *s)
{
    return s->count;
}
/* Label number id (< count); its bytes are valid until the set is cleared or freed. */
static inline struct tvp_label tvp_labels_get(const struct tvp_labels *s, size_t id)
{
    return s->items[id];
}

/* Byte order: <0, 0, >0 as a sorts before, equal to or after b. */
int tvp_label_cmp(const void *a, size_t alen, const void *b, size_t blen);

/* The length (2 to 4) of the valid UTF-8 sequence of a code point >= U+0080 that starts at
 * p[0, n) (n >= 1; 1 when p[0] is ASCII), or 0 when none does: an overlong form, a
 * surrogate, a code point above U+10FFFF, a stray continuation byte, or a sequence cut
 * short by n.  Reads no byte past the sequence's length or n. */
size_t tvp_utf8_seq(const unsigned char *p, size_t n);

/* A label (or column name) for a one-line message, written to dst[cap] (cap >= 16) and
 * returned: in double quotes when `quoted`; '"' and '\' escaped with a backslash, control
 * bytes and DEL as \u00XX, bytes that are not valid UTF-8 as \xNN; cut with "..." after
 * 40 bytes of the label, or earlier where dst would be too short. */
const char *tvp_label_show(char *dst, size_t cap, const void *p, size_t len, int quoted);

/* Renumbers s in byte order (id i = the i-th smallest label).  rank: NULL, or count
 * entries that receive, for each old id, its new id.  0 or TVP_ENOMEM (s unchanged). */
int tvp_labels_sort(struct tvp_labels *s, uint32_t *rank);

/* The sorted union of sets[0..nsets) into out (set up by this call; free it with
 * tvp_labels_free): out's ids are the class indices, so encoding a row is
 * tvp_labels_lookup(out, ...).  maps: NULL, or nsets pointers, each NULL or an array of
 * tvp_labels_count(sets[k]) entries that receives, for each local id j of sets[k], its
 * class index (so a worker can encode with its local ids and translate).  0 or TVP_ENOMEM
 * (out is then empty). */
int tvp_labels_merge(struct tvp_labels *out, const struct tvp_labels *const *sets,
                     size_t nsets, uint32_t *const *maps);

/* ---- the JSON classes file ----
 *
 *   {"colors": ["blue", "green", "red"], "sizes": ["large", "medium", "small"]}
 *
 * One object; a member per column in column order, its name the column's name and its
 * value the column's classes in class order (strictly increasing in byte order, as
 * LabelEncoder's classes_).  Written as one line per column:
 *   {
 *     "colors": ["blue", "green", "red"],
 *     ...
 *   }
 * Strings are escaped as JSON requires: '"' and '\' with a backslash, bytes below 0x20 as
 * \u00XX (NUL included); every other byte is passed through.  JSON text must be UTF-8 and
 * has no way to hold arbitrary bytes, so a label or column name that is not valid UTF-8
 * (overlong forms, surrogates and code points above U+10FFFF are invalid) is refused, not
 * escaped: escaping would read back as a different label. */

struct tvp_labels_column {
    struct tvp_label name;
    const struct tvp_labels *classes; /* ids = class indices (sorted, e.g. a merge) */
};

/* Writes the file atomically: the whole text is built in memory and checked first, then
 * written to a temporary file in path's folder (mode 0666 & ~umask), fsync'd and renamed
 * over path; on any failure no file is left (neither path changed nor a temporary).
 * 0, or with a one-line message in err: TVP_EINPUT ("PATH: column \"c\": class 3 is not
 * valid UTF-8 (byte 2)", a duplicated column name, classes not strictly sorted),
 * TVP_ENOMEM, TVP_ESYS ("PATH: cannot write: ...", errno kept). */
int tvp_labels_write_json(const char *path, const struct tvp_labels_column *cols,
                          size_t ncols, char *err, size_t errlen);

/* A classes file read back: column i is name id i of names, its classes are classes[i]
 * (ids = class indices). */
struct tvp_labels_file {
    struct tvp_labels names;
    struct tvp_labels *classes; /* tvp_labels_count(&names) sets */
};

/* Parses buf[0, len) (the file's contents; fname names it in messages) strictly: JSON
 * whitespace, one object of arrays of strings, nothing after it.  Escapes: \" \\ \/ \b \f
 * \n \r \t \uXXXX (a surrogate pair is one code point; a lone surrogate is an error),
 * decoded to UTF-8.  Errors: TVP_EINPUT with "FNAME:LINE: message" in err (FNAME: empty
 * file when len is 0): "expected ..." (a token that is not there), "unterminated string",
 * a raw control character or invalid UTF-8 in a string, a bad escape, "duplicate column
 * \"c\"", "column \"c\": class 2 ...: not sorted as LabelEncoder's classes_" (also a
 * repeated class), "trailing garbage after the object"; or TVP_ENOMEM.  f is set up by
 * this call; on failure it is left empty (tvp_labels_file_free is harmless). */
int tvp_labels_parse_json(const char *buf, size_t len, const char *fname,
                          struct tvp_labels_file *f, char *err, size_t errlen);
/* Reads the file at path and parses it: TVP_EINPUT also for a file that is missing, is a
 * folder or cannot be opened ("PATH: cannot open: ..."); TVP_ESYS when reading fails. */
int tvp_labels_read_json(const char *path, struct tvp_labels_file *f, char *err,
                         size_t errlen);
void tvp_labels_file_free(struct tvp_labels_file *f);

#endif
