# The filter benchmark's efficiency table.  Usage: awk -f common.awk -f bench_filter.awk results.csv
# Efficiency at W workers = median serial t_total / (W x median t_total), against a target:
# 0.9 for threads, 0.8 for processes.
FNR == 1 { header(); next }
{
    row()
    k = get("data") SUBSEP get("backend") SUBSEP get("ipc") SUBSEP get("workers")
    if (!(k in cnt)) { order[++nkeys] = k; cnt[k] = 0 }
    tot[k, ++cnt[k]] = num("t_total")
    comp[k, cnt[k]] = num("t_compute")
    halo[k] = num("halo_bytes")
    if (num("verified") != 1) bad[k] = 1
}
END {
    for (i = 1; i <= nkeys; i++) {
        k = order[i]
        split(k, f, SUBSEP)
        med[k] = median_of(tot, k, cnt[k])
        if (f[2] == "serial") serial[f[1]] = med[k]
    }
    printf "   %-8s %-7s %-5s %2s %12s %12s %10s %8s %8s %12s\n", "data", "backend", "ipc", "W", "t_total_ms",
        "t_compute_ms", "speedup", "effic.", "target", "halo_MB"
    for (i = 1; i <= nkeys; i++) {
        k = order[i]
        split(k, f, SUBSEP)
        w = f[4] + 0
        base = serial[f[1]]
        eff = base > 0 && med[k] > 0 ? base / (w * med[k]) : 0
        target = f[2] == "openmp" ? 0.9 : f[2] == "serial" ? 0 : 0.8
        speedup = base > 0 ? base / med[k] : 0
        verdict = target == 0 ? "-" : eff >= target ? "met" : "MISSED"
        note = (k in bad) ? "  NOT VERIFIED" : ""
        printf "   %-8s %-7s %-5s %2d %12.2f %12.2f %9.2fx %8.2f %8s %12.1f%s\n", f[1], f[2], f[3], w,
            1e3 * med[k], 1e3 * median_of(comp, k, cnt[k]), speedup, eff, verdict, halo[k] / 1e6, note
    }
    print "   (efficiency = median tvp-serial t_total / (W x median t_total), same data mode;"
    print "    targets: 0.9 threads, 0.8 processes)"
}
