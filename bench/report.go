package main

import (
	"fmt"
	"math"
	"strings"
)

// ratioKind says what the last column of a row compares.
type ratioKind int

const (
	higherBetter ratioKind = iota // strata / best (highest) peer
	vsPebble                      // strata / Pebble, "1.25x Pebble"
	noRatio
)

// row is one line of the table.
type row struct {
	metric string
	label  string
	ratio  ratioKind
	format func(float64) string
	// marked lists the engines whose cell gets a † (not native; see notes).
	marked []string
	// fallback is the metric shown, with a ‡, for an engine without
	// this one (W3b and W4b: the peers' W3 and W4).
	fallback string
}

// title is the row's first cell (W3 names its key count).
func (r row) title(rep *Report) string {
	switch r.metric {
	case MetricHistory:
		return fmt.Sprintf("W3 History(10), %s keys x 10 versions (ops/s)", fmtShort(rep.HistoryKeys))
	case MetricHistoryFn:
		return fmt.Sprintf("W3b History(10) to a function, %s keys x 10 versions (ops/s)", fmtShort(rep.HistoryKeys))
	case MetricCompacted:
		return fmt.Sprintf("W7 bytes after %s keys x 10 overwrites + compaction (MiB)", fmtShort(rep.HistoryKeys))
	}
	return r.label
}

// rows are the table's rows, in order.
var rows = []row{
	// W1's target is Pebble's (bbolt's cell commits 1000 puts at a time).
	{MetricFill, "W1 fill, 1 put per commit, no fsync (ops/s)", vsPebble, fmtCount, []string{"bbolt"}, ""},
	{MetricBatchFill, "W1b fill, batches of 1000 (ops/s)", higherBetter, fmtCount, nil, ""},
	{MetricGet1, "W2 random Get, 1 goroutine (ops/s)", higherBetter, fmtCount, nil, ""},
	{MetricGet2, "W2 random Get, 2 goroutines (ops/s)", higherBetter, fmtCount, nil, ""},
	{MetricGCShare, "W2 GC share of CPU, 1 goroutine", noRatio, fmtPercent, nil, ""},
	{MetricHistory, "", higherBetter, fmtCount, []string{"pebble", "bbolt"}, ""},
	{MetricScan, "W4 prefix scan of 100 keys (scans/s)", higherBetter, fmtCount, nil, ""},
	{MetricHistoryFn, "", higherBetter, fmtCount, []string{"pebble", "bbolt"}, MetricHistory},
	{MetricScanFn, "W4b prefix scan of 100 keys to a function (scans/s)", higherBetter, fmtCount, nil, MetricScan},
	{MetricSync, "W5 fsync per commit, 8 goroutines (commits/s)", higherBetter, fmtCount, nil, ""},
	{MetricBytes, "W1 bytes on disk (MiB)", vsPebble, fmtMiB, nil, ""},
	{MetricReopen, "W6 reopen after W1 (s)", noRatio, fmtSeconds, nil, ""},
	{MetricCompacted, "", vsPebble, fmtMiB, nil, ""},
	{MetricCompactS, "W7 compaction time (s)", noRatio, fmtSeconds, nil, ""},
	{MetricRSS, "peak RSS (MiB)", vsPebble, fmtMiB, nil, ""},
}

// renderTable returns the markdown table and the notes under it.
func renderTable(rep *Report) string {
	var b strings.Builder
	byName := map[string]*ChildResult{}
	for _, r := range rep.Engines {
		byName[r.Engine] = r
	}
	fmt.Fprintf(&b, "\n| workload |")
	for _, r := range rep.Engines {
		fmt.Fprintf(&b, " %s |", engineTitles[r.Engine])
	}
	fmt.Fprintf(&b, " strata / best peer |\n|---|")
	for range rep.Engines {
		b.WriteString("---:|")
	}
	b.WriteString("---:|\n")
	for _, rw := range rows {
		fmt.Fprintf(&b, "| %s |", rw.title(rep))
		for _, r := range rep.Engines {
			cell := "–"
			v, ok := r.Metrics[rw.metric]
			fell := false
			if !ok && rw.fallback != "" && r.Engine != "strata" {
				v, ok = r.Metrics[rw.fallback]
				fell = ok
			}
			if ok {
				cell = rw.format(v)
				for _, m := range rw.marked {
					if m == r.Engine {
						cell += " †"
					}
				}
				if fell {
					cell += " ‡"
				}
			} else if r.Error != "" {
				cell = "failed"
			}
			fmt.Fprintf(&b, " %s |", cell)
		}
		fmt.Fprintf(&b, " %s |\n", ratio(rw, byName))
	}
	b.WriteString("\n")
	for _, n := range notes(rep, byName) {
		fmt.Fprintf(&b, "- %s\n", n)
	}
	return b.String()
}

// ratio returns the last cell of a row.
func ratio(rw row, byName map[string]*ChildResult) string {
	s, ok := byName["strata"]
	if !ok {
		return "–"
	}
	sv, ok := s.Metrics[rw.metric]
	if !ok {
		return "–"
	}
	switch rw.ratio {
	case higherBetter:
		best, bestName := 0.0, ""
		var failed []string // peers that failed before this workload
		for _, name := range engineNames[1:] {
			if r, ok := byName[name]; ok {
				v, ok := r.Metrics[rw.metric]
				if !ok && rw.fallback != "" {
					v, ok = r.Metrics[rw.fallback]
				}
				if ok && v > best {
					best, bestName = v, name
				}
				if !ok && r.Error != "" {
					failed = append(failed, name)
				}
			}
		}
		switch {
		case len(failed) > 0 && best == 0:
			return fmt.Sprintf("? (%s failed)", strings.Join(failed, ", "))
		case len(failed) > 0: // the best peer is not known
			return fmt.Sprintf("? (%s failed; %.2fx %s)", strings.Join(failed, ", "), sv/best, bestName)
		case best == 0:
			return "–"
		}
		return fmt.Sprintf("%.2fx (%s)", sv/best, bestName)
	case vsPebble:
		p, ok := byName["pebble"]
		if !ok {
			return "–"
		}
		pv, ok := p.Metrics[rw.metric]
		if !ok && p.Error != "" {
			return "? (pebble failed)"
		}
		if !ok || pv == 0 {
			return "–"
		}
		return fmt.Sprintf("%.2fx Pebble", sv/pv)
	}
	return ""
}

// notes returns the lines printed under the table.
func notes(rep *Report, byName map[string]*ChildResult) []string {
	has := func(name string) bool { _, ok := byName[name]; return ok }
	var out []string
	out = append(out, fmt.Sprintf("Data: %s keys of %d B (\"key:%%012d\"), %d B random values; W3 loads %s keys x %d versions into a fresh directory (untimed). "+
		"Read workloads stop after %s ops (W4: %s scans) or %.3gs, W5 after %s commits or %.3gs. Scale %g. Throughputs are ops per second of wall time.",
		fmtCount(float64(rep.Keys)), KeyLen, ValueLen, fmtCount(float64(rep.HistoryKeys)), HistoryVersions,
		fmtCount(float64(rep.Keys)), fmtCount(float64(max(rep.Keys/10, 100))), rep.ReadCapS,
		fmtCount(float64(max(rep.Keys/10, 1000))), rep.SyncCapS, rep.Scale))
	if has("bbolt") {
		out = append(out, "† bbolt W1: a one-put transaction fsyncs (bbolt has no commit without fsync short of NoSync), so its W1 commits 1000 puts per Update; every bbolt commit, in W1 and W1b too, fsyncs.")
	}
	var emulated []string
	for _, n := range []string{"pebble", "bbolt"} {
		if has(n) {
			emulated = append(emulated, engineTitles[n])
		}
	}
	if len(emulated) > 0 {
		out = append(out, "† "+strings.Join(emulated, " and ")+" W3: no native versions; emulated with keys key||bigEndian(^version) (24 B), read newest first by a forward prefix scan of up to 10 entries.")
	}
	if has("badger") {
		out = append(out, "Badger W3: native versions, read with NewKeyIterator (AllVersions); NumVersionsToKeep raised to MaxInt32 for that directory (the default 1 lets compaction drop old versions).")
	}
	if has("strata") {
		out = append(out, "Strata Get, History and Scan return decoded values, so the copy is part of the call; peers copy values out (Badger ValueCopy, Pebble Get+copy+Close, bbolt one View per Get).")
		out = append(out, "W3b and W4b: Strata's HistoryFunc and ScanFunc, which pass each version to a function, its bytes valid until the function returns, and allocate nothing per call; ‡ the peers' W3 and W4 figures, since their W3 and W4 already copy into buffers they reuse. The targets are W3's and W4's.")
	}
	if rep.FsyncPerSec > 0 {
		out = append(out, fmt.Sprintf("This disk's serial fsync rate: %s fsyncs/s (append 100 B + fsync, %.2f ms each); W5 above that comes from sharing fsyncs (group commit).",
			fmtCount(rep.FsyncPerSec), 1000/rep.FsyncPerSec))
	}
	if s, ok := byName["strata"]; ok {
		if v, ok := s.Metrics[MetricPerFsync]; ok {
			out = append(out, fmt.Sprintf("Strata W5: %.2f commits per fsync (kv.Stats Commits / Fsyncs).", v))
		} else if s.Error == "" {
			out = append(out, "Strata W5 commits per fsync: not measured (kv.Stats counted no fsync).")
		}
		if v, ok := s.Metrics[MetricIndexBytes]; ok {
			out = append(out, fmt.Sprintf("Strata index after W1: %.1f bytes per key beyond its %d key bytes, %.1f with them (kv.Stats IndexBytes).", v-KeyLen, KeyLen, v))
			if w3, ok := s.Metrics[MetricIndexW3]; ok && rep.HistoryKeys > 0 {
				perVersion := (w3 - v*float64(rep.HistoryKeys)) / float64(rep.HistoryKeys*(HistoryVersions-1))
				out = append(out, fmt.Sprintf("Strata index after the W3 load: %.1f MiB, %.1f bytes per version beyond a key's first (its IndexBytes less W1's bytes per key for each key).", w3/(1<<20), perVersion))
			}
		} else if s.Error == "" {
			out = append(out, "Strata index bytes per key: not measured.")
		}
	}
	out = append(out, fmt.Sprintf("W7: one version of every key is %.1f MiB of keys and values; Strata opened with Retention{KeepVersions: 1} and compacted with DB.Compact, Pebble with Compact over the whole key space, Badger with Flatten then RunValueLogGC(0.5) until it rewrites nothing; bbolt has no compaction call (left out).",
		float64(rep.HistoryKeys*(KeyLen+ValueLen))/(1<<20)))
	out = append(out, "W2 GC share: the garbage collector's CPU over all CPU the child process used during W2 with 1 goroutine (runtime/metrics /cpu/classes, which the runtime brings up to date at the end of a collection: each sample follows a forced one, so the window is W2 and that last collection; it counts the collector's own goroutines and the assists it takes from others).")
	out = append(out, "Bytes on disk: the disk space of every file in the W1 directory after Close, as du counts it (allocated blocks). W6: time for Open of that directory (Strata rebuilds its index, Pebble replays its WAL). Peak RSS: the engine's child process over all its workloads, as it reads its own peak at its end (Linux VmHWM). W1's ratio is against Pebble, the issue's W1 target (bbolt's W1 commits 1000 puts at a time).")
	for _, r := range rep.Engines {
		if r.Error != "" {
			out = append(out, fmt.Sprintf("%s FAILED: %s", engineTitles[r.Engine], r.Error))
		}
	}
	out = append(out, fmt.Sprintf("Wall time of the run: %.1fs.", rep.WallS))
	return out
}

// fmtCount formats a rate or count with thousands separators.
func fmtCount(v float64) string {
	if v < 100 {
		return fmt.Sprintf("%.1f", v)
	}
	s := fmt.Sprintf("%.0f", math.Round(v))
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// fmtShort formats a key count as 100k or 1M.
func fmtShort(n int) string {
	switch {
	case n >= 1e6 && n%1e6 == 0:
		return fmt.Sprintf("%dM", n/1e6)
	case n >= 1e3 && n%1e3 == 0:
		return fmt.Sprintf("%dk", n/1e3)
	}
	return fmt.Sprint(n)
}

// fmtMiB formats bytes as MiB.
func fmtMiB(v float64) string { return fmt.Sprintf("%.1f", v/(1<<20)) }

// fmtSeconds formats seconds, with more digits below 10 ms.
func fmtSeconds(v float64) string {
	if v < 0.01 {
		return fmt.Sprintf("%.4f", v)
	}
	return fmt.Sprintf("%.3f", v)
}

// fmtPercent formats a share as a percentage.
func fmtPercent(v float64) string { return fmt.Sprintf("%.1f%%", 100*v) }
