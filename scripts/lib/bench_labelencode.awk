# The labelencode benchmark's efficiency table.
# Usage: awk -f common.awk -f bench_labelencode.awk results.csv
# Only the --verify runs count (verified 1 or 0): the records bench_labelencode.py kept of
# its pandas and scikit-learn comparisons are unverified (-1) and skipped.  Per input
# (generated or a file), data mode, backend and ipc: the median t_total at 1 and 2 workers,
# efficiency = t1 / (2 x t2) against the target 0.85, and the same with tvp-serial's t1.
FNR == 1 { header(); next }
{
    row()
    if (num("verified") == -1) next
    input = get("input")
    sub(/.*\//, "", input)
    g = input SUBSEP get("data") SUBSEP get("backend") SUBSEP get("ipc")
    w = num("workers")
    k = g SUBSEP w
    if (!(g in seen)) { seen[g] = 1; order[++ngroups] = g }
    tot[k, ++cnt[k]] = num("t_total")
    merge[g] = num("merge_bytes") > merge[g] ? num("merge_bytes") : merge[g]
    if (num("verified") != 1) bad[g] = 1
}
END {
    target = 0.85
    for (i = 1; i <= ngroups; i++) {
        g = order[i]
        split(g, f, SUBSEP)
        for (w = 1; w <= 2; w++)
            med[g, w] = cnt[g, w] ? median_of(tot, g SUBSEP w, cnt[g, w]) : 0
        if (f[3] == "serial") serial[f[1], f[2]] = med[g, 1]
    }
    printf "   %-10s %-7s %-7s %-5s %9s %9s %8s %7s %7s %10s %9s\n", "input", "data", "backend",
        "ipc", "t1_ms", "t2_ms", "effic.", "target", "", "vs_serial", "merge_KB"
    for (i = 1; i <= ngroups; i++) {
        g = order[i]
        split(g, f, SUBSEP)
        t1 = med[g, 1]; t2 = med[g, 2]
        s1 = serial[f[1], f[2]] + 0
        st1 = t1 > 0 ? sprintf("%.2f", 1e3 * t1) : "-"
        st2 = t2 > 0 ? sprintf("%.2f", 1e3 * t2) : "-"
        eff = verdict = vs = tgt = "-"
        if (t2 > 0) {
            tgt = sprintf("%.2f", target)
            if (t1 > 0) {
                eff = sprintf("%.2f", t1 / (2 * t2))
                verdict = t1 / (2 * t2) >= target ? "met" : "MISSED"
            }
            if (s1 > 0) vs = sprintf("%.2f", s1 / (2 * t2))
        }
        note = (g in bad) ? "  NOT VERIFIED" : ""
        printf "   %-10s %-7s %-7s %-5s %9s %9s %8s %7s %7s %10s %9.1f%s\n", f[1], f[2], f[3], f[4],
            st1, st2, eff, tgt, verdict, vs, merge[g] / 1e3, note
    }
    print "   (median t_total at W=1 and W=2; efficiency = t1 / (2 x t2), the backend's own t1;"
    print "    vs_serial = tvp-serial's t1 / (2 x t2), same input and data mode)"
}
