# Helpers shared by table.awk and bench.awk: CSV fields by header name, medians.
# Portable awk (mawk, gawk, busybox): no FPAT, no asort.  Fields are parsed as RFC 4180
# CSV, since tvp quotes a field that holds a comma (transport "pml=ob1 btl=self,vader").

# splits the current record into fld[1..nf]; returns nf
function csv_split(line,    n, i, c, q, s, len) {
    split("", fld)
    n = 1; s = ""; q = 0; len = length(line)
    sub(/\r$/, "", line)
    for (i = 1; i <= len; i++) {
        c = substr(line, i, 1)
        if (q) {
            if (c == "\"") {
                if (substr(line, i + 1, 1) == "\"") { s = s "\""; i++ }
                else q = 0
            } else s = s c
        } else if (c == "\"") q = 1
        else if (c == ",") { fld[n++] = s; s = "" }
        else s = s c
    }
    fld[n] = s
    return n
}

# column numbers by header name, from the current record: col["t_total"] = 28
function header(    i, nf) {
    split("", col)
    nf = csv_split($0)
    for (i = 1; i <= nf; i++)
        col[fld[i]] = i
}
function need(name) {
    if (!(name in col)) {
        printf "tvp: %s has no column '%s'\n", FILENAME, name > "/dev/stderr"
        exit 2
    }
    return col[name]
}
# call row() once per data record, then get()/num() by column name
function row() { csv_split($0) }
function get(name) { return fld[need(name)] }
function num(name) { return fld[need(name)] + 0 }

# median of v[1..n] (sorts v in place)
function median(v, n,    i, j, t) {
    for (i = 2; i <= n; i++) {
        t = v[i]
        for (j = i - 1; j >= 1 && v[j] > t; j--)
            v[j + 1] = v[j]
        v[j + 1] = t
    }
    if (n < 1) return 0
    return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}
# median, min and max of the values stored as list[key, 1..n]
function median_of(list, key, n,    v, i) {
    for (i = 1; i <= n; i++)
        v[i] = list[key, i] + 0
    return median(v, n)
}
function min_of(list, key, n,    i, m) {
    m = list[key, 1] + 0
    for (i = 2; i <= n; i++) if (list[key, i] + 0 < m) m = list[key, i] + 0
    return m
}
function max_of(list, key, n,    i, m) {
    m = list[key, 1] + 0
    for (i = 2; i <= n; i++) if (list[key, i] + 0 > m) m = list[key, i] + 0
    return m
}
