# The compare table: one line per workload x scaling x size x backend x data x ipc x
# workers, from a results.csv of scripts/tvp compare (or a plain tvp CSV).
# Usage: awk -f common.awk -f table.awk results.csv
# Columns are read by header name.  Rows whose `status` (when there is one) is not ok are
# left out (they have no times); a file without `scaling`/`size` columns counts as strong
# scaling of one size.  The baseline of a group is tvp-serial at 1 worker with the same
# data mode and schedule; for python-mp (a different program, with its own n) it is
# python-mp at 1 worker.
function opt(name, dflt) { return (name in col) ? fld[col[name]] : dflt }
FNR == 1 { header(); next }
{
    row()
    if (opt("status", "ok") != "ok") { skipped++; next }
    g = opt("workload", "squares") SUBSEP opt("scaling", "strong") SUBSEP opt("size", "")
    if (!(g in gseen)) { gorder[++ngroups] = g; gseen[g] = 1 }
    ipc = get("ipc")
    if (get("backend") == "mpi" && opt("transport", "") ~ /btl=tcp/) ipc = "tcp" # --mpi-transport tcp
    k = g SUBSEP get("backend") SUBSEP get("data") SUBSEP get("schedule") SUBSEP ipc SUBSEP get("workers")
    if (!(k in cnt)) { order[++nkeys] = k; cnt[k] = 0; ver[k] = 1; grp[k] = g }
    i = ++cnt[k]
    tot[k, i] = num("t_total")
    comp[k, i] = num("t_compute")
    n[k] = num("n")
    # bytes per item from the record itself: bytes_per_s = n*(in+out)/t_total
    if (num("t_total") > 0 && num("n") > 0)
        bpi[k] = int(num("bytes_per_s") * num("t_total") / num("n") + 0.5)
    v = num("verified")
    if (v == 0) ver[k] = 0
    else if (v < 0 && ver[k] != 0) ver[k] = -1
}
END {
    for (j = 1; j <= nkeys; j++) {
        k = order[j]
        split(k, f, SUBSEP) # 1 workload 2 scaling 3 size 4 backend 5 data 6 schedule 7 ipc 8 workers
        med[k] = median_of(tot, k, cnt[k])
        if (f[8] == 1 && (f[4] == "serial" || f[4] == "python-mp"))
            base[grp[k], (f[4] == "serial" ? "tvp" : "python"), f[5], f[6]] = med[k]
    }
    for (gi = 1; gi <= ngroups; gi++) {
        g = gorder[gi]
        split(g, h, SUBSEP)
        printf "%s%s, %s scaling%s\n", (gi > 1 ? "\n" : ""), h[1], h[2], (h[3] != "" ? ", size " h[3] : "")
        printf "%-9s %-8s %-5s %3s %11s %11s %19s %13s %8s %5s %8s %8s\n", "backend", "data", "ipc",
            "W", "n", "t_total_ms", "min-max_ms", "t_compute_ms", "speedup", "eff", "GB/s", "verified"
        for (j = 1; j <= nkeys; j++) {
            k = order[j]
            if (grp[k] != g) continue
            split(k, f, SUBSEP)
            c = median_of(comp, k, cnt[k])
            b = base[g, (f[4] == "python-mp" ? "python" : "tvp"), f[5], f[6]]
            s = "-"; e = "-"
            if (b > 0 && med[k] > 0 && f[8] > 0) {
                # strong: speedup T1/Tw, efficiency speedup/W; weak (W times the work):
                # efficiency T1/Tw, scaled speedup W x efficiency
                if (h[2] == "weak") { e = b / med[k]; s = f[8] * e }
                else { s = b / med[k]; e = s / f[8] }
                s = sprintf("%.2fx", s); e = sprintf("%.2f", e)
            }
            gb = c > 0 && bpi[k] > 0 ? sprintf("%.2f", n[k] * bpi[k] / c / 1e9) : "-"
            printf "%-9s %-8s %-5s %3d %11.0f %11.2f %19s %13.2f %8s %5s %8s %8s\n", f[4], f[5], f[7], f[8],
                n[k], 1e3 * med[k],
                sprintf("%.2f-%.2f", 1e3 * min_of(tot, k, cnt[k]), 1e3 * max_of(tot, k, cnt[k])),
                1e3 * c, s, e, gb, ver[k] == 1 ? "yes" : ver[k] == 0 ? "NO" : "-"
        }
    }
    printf "\nmedians over each configuration's timed runs.  Strong scaling: speedup = T1 / TW, eff =\n"
    printf "speedup / W; weak scaling (W times the work): eff = T1 / TW, speedup = W x eff; T1 = the\n"
    printf "median t_total of tvp-serial at W=1 with the same data mode (python-mp: of python-mp at\n"
    printf "W=1).  GB/s = n x bytes per item (in + out) / median t_compute.\n"
    if (skipped) printf "%d row(s) of configurations that did not finish ok are not shown.\n", skipped
}
