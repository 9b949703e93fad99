package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Metric names, the keys of ChildResult.Metrics.
const (
	MetricFill       = "w1_fill_ops_per_s"
	MetricBatchFill  = "w1b_batch_fill_ops_per_s"
	MetricGet1       = "w2_get_1g_ops_per_s"
	MetricGet2       = "w2_get_2g_ops_per_s"
	MetricHistory    = "w3_history_ops_per_s"
	MetricScan       = "w4_scan_per_s"
	MetricHistoryFn  = "w3b_history_func_ops_per_s"
	MetricScanFn     = "w4b_scan_func_per_s"
	MetricSync       = "w5_sync_commits_per_s"
	MetricBytes      = "w1_bytes_on_disk"
	MetricReopen     = "w6_reopen_s"
	MetricCompacted  = "w7_bytes_after_compaction"
	MetricCompactS   = "w7_compaction_s"
	MetricRSS        = "peak_rss_bytes"
	MetricIndexBytes = "strata_index_bytes_per_key"
	MetricIndexW3    = "strata_index_bytes_w3"
	MetricGCShare    = "w2_gc_cpu_share"
	MetricPerFsync   = "strata_commits_per_fsync"
)

// SyncWorkers is the number of goroutines committing in W5.
const SyncWorkers = 8

// Config is what a child needs to know to run its workloads.
type Config struct {
	Keys        int           // W1 keys (a multiple of 100)
	HistoryKeys int           // W3 keys (a multiple of 100)
	ReadCap     time.Duration // time cap of each read workload
	SyncCap     time.Duration // time cap of W5
	Seed        uint64        // seeds every random choice
}

// newConfig derives the workload sizes from the scale.
func newConfig(scale float64, readCap, syncCap time.Duration, seed uint64) Config {
	round := func(n float64) int { return max(100, int(n/100+0.5)*100) }
	return Config{
		Keys:        round(1e6 * scale),
		HistoryKeys: round(1e5 * scale),
		ReadCap:     readCap,
		SyncCap:     syncCap,
		Seed:        seed,
	}
}

// ChildResult is what a child process reports on stdout, as JSON.
type ChildResult struct {
	Engine string `json:"engine"`
	// Metrics holds the table's numbers by Metric name: throughputs in
	// operations per second, sizes in bytes, times in seconds.
	Metrics map[string]float64 `json:"metrics"`
	// Ops and Seconds say how many operations each timed workload did and
	// how long it took (a read workload stops at its op count or time cap).
	Ops     map[string]int64   `json:"ops"`
	Seconds map[string]float64 `json:"seconds"`
	// Error is set if a workload failed; the metrics before it stand.
	Error string `json:"error,omitempty"`
}

// child runs the workloads for one engine in sequence.
type child struct {
	name string
	dir  string
	cfg  Config
	log  io.Writer
	res  *ChildResult
}

// ProfileEnv, when set to a directory, makes each child write a CPU
// profile of all its workloads there, as ENGINE.cpu.prof (go tool pprof
// -top -focus Scan bench ENGINE.cpu.prof).
const ProfileEnv = "STRATA_BENCH_CPUPROFILE"

// startProfile starts a CPU profile into path; stop ends it.
func startProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// runChild runs every workload for the named engine under dir and returns
// what it measured (with Error set on failure).
func runChild(name, dir string, cfg Config, log io.Writer) *ChildResult {
	c := &child{name: name, dir: dir, cfg: cfg, log: log, res: &ChildResult{
		Engine:  name,
		Metrics: map[string]float64{},
		Ops:     map[string]int64{},
		Seconds: map[string]float64{},
	}}
	if d := os.Getenv(ProfileEnv); d != "" {
		stop, err := startProfile(filepath.Join(d, name+".cpu.prof"))
		if err != nil {
			c.res.Error = err.Error()
			return c.res
		}
		defer stop()
	}
	steps := []func() error{c.fillAndReads, c.batchFill, c.history, c.compactSpace, c.syncCommits}
	for _, step := range steps {
		if err := step(); err != nil {
			c.res.Error = err.Error()
			c.logf("FAILED: %v", err)
			break
		}
	}
	if rss := selfPeakRSS(); rss > 0 {
		c.res.Metrics[MetricRSS] = float64(rss)
	}
	return c.res
}

// logf writes one progress line, prefixed with the engine's name.
func (c *child) logf(format string, args ...any) {
	fmt.Fprintf(c.log, "[%s] %s\n", c.name, fmt.Sprintf(format, args...))
}

// open returns the engine opened in a subdirectory of the child's dir.
func (c *child) open(sub string, o OpenOptions) (Engine, error) {
	e, err := newEngine(c.name)
	if err != nil {
		return nil, err
	}
	d := filepath.Join(c.dir, sub)
	if err := os.MkdirAll(d, 0o755); err != nil {
		return nil, err
	}
	if err := e.Open(d, o); err != nil {
		return nil, fmt.Errorf("open %s: %w", sub, err)
	}
	return e, nil
}

// record stores a throughput and logs it.
func (c *child) record(metric, label, unit string, ops int64, el time.Duration) {
	rate := float64(ops) / el.Seconds()
	c.res.Metrics[metric] = rate
	c.res.Ops[metric] = ops
	c.res.Seconds[metric] = el.Seconds()
	c.logf("%s: %d ops in %.2fs = %s %s%s", label, ops, el.Seconds(), fmtCount(rate), unit, memNow())
}

// memNow describes the process's resident memory now and at its peak so
// far (Linux only: "" elsewhere), so that a log shows which workload
// set the peak.
func memNow() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return ""
	}
	var rss, hwm, anon, file string
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 {
			switch f[0] {
			case "VmRSS:":
				rss = f[1]
			case "VmHWM:":
				hwm = f[1]
			case "RssAnon:":
				anon = f[1]
			case "RssFile:":
				file = f[1]
			}
		}
	}
	if rss == "" || hwm == "" {
		return ""
	}
	return fmt.Sprintf(" (RSS %s kB: %s anonymous, %s of files; peak %s kB)", rss, anon, file, hwm)
}

// worker is the per-goroutine state of a timed workload.
type worker struct {
	rng *rand.Rand
	src *rand.ChaCha8 // fills values with random bytes
	key []byte
	val []byte
	buf []byte
}

// newWorker returns the state of one goroutine; stream picks its random
// sequences.
func (c *child) newWorker(stream uint64) *worker {
	var seed [32]byte
	for i := range seed {
		seed[i] = byte(c.cfg.Seed>>(8*(i%8))) ^ byte(stream*31+uint64(i))
	}
	return &worker{
		rng: rand.New(rand.NewPCG(c.cfg.Seed, stream)),
		src: rand.NewChaCha8(seed),
		key: make([]byte, KeyLen),
		val: make([]byte, ValueLen),
		buf: make([]byte, 0, ValueLen),
	}
}

// randomValue refills w.val with fresh random bytes.
func (w *worker) randomValue() []byte {
	w.src.Read(w.val)
	return w.val
}

// timed runs op on workers goroutines until total ops are done or limit
// has passed, whichever comes first, checking the clock every chunk ops.
// It returns the ops done and the time they took.
func (c *child) timed(workers, total, chunk int, limit time.Duration, op func(w *worker) error) (int64, time.Duration, error) {
	var next, done atomic.Int64
	var stop atomic.Bool
	errs := make([]error, workers)
	ws := make([]*worker, workers)
	for i := range ws {
		ws[i] = c.newWorker(uint64(100 + i))
	}
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(limit)
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := ws[i]
			for !stop.Load() {
				base := next.Add(int64(chunk)) - int64(chunk)
				if base >= int64(total) {
					return
				}
				n := min(int64(chunk), int64(total)-base)
				for range n {
					if err := op(w); err != nil {
						errs[i] = err
						stop.Store(true)
						return
					}
					done.Add(1)
				}
				if time.Now().After(deadline) {
					stop.Store(true)
				}
			}
		}()
	}
	wg.Wait()
	return done.Load(), time.Since(start), errors.Join(errs...)
}

// fillAndReads runs W1 (fill), measures its bytes on disk, W6 (reopen),
// then W2 (Gets) and W4 (scans) on the reopened W1 data.
func (c *child) fillAndReads() error {
	e, err := c.open("w1", OpenOptions{})
	if err != nil {
		return err
	}
	n := c.cfg.Keys
	w := c.newWorker(1)
	order := w.rng.Perm(n)
	start := time.Now()
	for _, i := range order {
		putKey(w.key, i)
		if err := e.Put(w.key, w.randomValue()); err != nil {
			e.Close()
			return fmt.Errorf("W1 put: %w", err)
		}
	}
	if err := e.Flush(); err != nil {
		e.Close()
		return fmt.Errorf("W1 flush: %w", err)
	}
	c.record(MetricFill, "W1 fill, 1 put per commit", "ops/s", int64(n), time.Since(start))
	order = nil
	if s, ok := e.(ExtraStatser); ok {
		if ib, ok := s.ExtraStats()["IndexBytes"]; ok {
			c.res.Metrics[MetricIndexBytes] = float64(ib) / float64(n)
			c.logf("index: %d bytes = %.1f bytes/key", ib, float64(ib)/float64(n))
		}
	}
	start = time.Now()
	if err := e.Close(); err != nil {
		return fmt.Errorf("W1 close: %w", err)
	}
	closeTime := time.Since(start)
	dir := filepath.Join(c.dir, "w1")
	size, err := dirBytes(dir)
	if err != nil {
		return err
	}
	c.res.Metrics[MetricBytes] = float64(size)
	c.logf("W1 close took %.2fs; bytes on disk: %.1f MiB", closeTime.Seconds(), float64(size)/(1<<20))

	start = time.Now()
	e, err = c.open("w1", OpenOptions{})
	if err != nil {
		return fmt.Errorf("W6 reopen: %w", err)
	}
	reopen := time.Since(start)
	c.res.Metrics[MetricReopen] = reopen.Seconds()
	c.logf("W6 reopen: %.3fs", reopen.Seconds())
	if err := closing(e, func() error { return c.reads(e) }); err != nil {
		return err
	}
	return os.RemoveAll(dir)
}

// closing runs fn, then closes e, and returns the first error.
func closing(e Engine, fn func() error) error {
	err := fn()
	if cerr := e.Close(); err == nil {
		err = cerr
	}
	return err
}

// reads runs W2 (random Gets from 1 and 2 goroutines) and W4 (prefix scans)
// on the W1 data.
func (c *child) reads(e Engine) error {
	n := c.cfg.Keys
	get := func(w *worker) error {
		i := w.rng.IntN(n)
		putKey(w.key, i)
		v, ok, err := e.Get(w.key, w.buf)
		if err != nil {
			return err
		}
		if !ok || len(v) != ValueLen {
			return fmt.Errorf("W2 get %s: found=%v, %d bytes", w.key, ok, len(v))
		}
		w.buf = v[:0]
		return nil
	}
	for _, g := range []struct {
		workers int
		metric  string
	}{{1, MetricGet1}, {2, MetricGet2}} {
		gc0 := readGCShare()
		ops, el, err := c.timed(g.workers, n, 64, c.cfg.ReadCap, get)
		if err != nil {
			return err
		}
		c.record(g.metric, fmt.Sprintf("W2 random Get, %d goroutine(s)", g.workers), "ops/s", ops, el)
		if g.workers == 1 {
			share := readGCShare().since(gc0)
			c.res.Metrics[MetricGCShare] = share
			c.logf("W2: the garbage collector took %.1f%% of the CPU the process used", 100*share)
		}
	}

	if err := c.scans(MetricScan, "W4 prefix scan of 100 keys", e.Scan); err != nil {
		return err
	}
	if v, ok := e.(Visiter); ok {
		return c.scans(MetricScanFn, "W4b prefix scan of 100 keys, values to a function", v.ScanVisit)
	}
	return nil
}

// scans runs W4 (or W4b) on the W1 data with scan, recording metric.
func (c *child) scans(metric, label string, scan func(prefix []byte, limit int) (int, int, error)) error {
	n := c.cfg.Keys
	scans := max(n/10, 100)
	ops, el, err := c.timed(1, scans, 16, c.cfg.ReadCap, func(w *worker) error {
		p := w.rng.IntN(n / 100)
		putKey(w.key, p*100)
		got, bytes, err := scan(w.key[:PrefixLen], 100)
		if err != nil {
			return err
		}
		if got != 100 || bytes < 100*ValueLen {
			return fmt.Errorf("%s %s: %d entries, %d bytes, want 100", label, w.key[:PrefixLen], got, bytes)
		}
		return nil
	})
	if err != nil {
		return err
	}
	c.record(metric, label, "scans/s", ops, el)
	return nil
}

// batchFill runs W1b: the same fill as W1 in commits of BatchLen puts, into
// a fresh directory.
func (c *child) batchFill() error {
	e, err := c.open("w1b", OpenOptions{})
	if err != nil {
		return err
	}
	n := c.cfg.Keys
	w := c.newWorker(2)
	order := w.rng.Perm(n)
	// Only the commits are timed: building a batch (a 116 KB slab of
	// random bytes, 1000 keys formatted) is the harness's work, 15-25% of
	// Strata's W1b time when it was inside the timer (review 52), the same
	// for every engine, and so pulled every ratio towards 1.
	var el time.Duration
	for off := 0; off < n; off += BatchLen {
		kvs := c.batch(w, order[off:min(off+BatchLen, n)])
		start := batchClock()
		err := e.Batch(kvs)
		el += batchClock().Sub(start)
		if err != nil {
			e.Close()
			return fmt.Errorf("W1b batch: %w", err)
		}
	}
	c.record(MetricBatchFill, "W1b fill, batches of 1000", "ops/s", int64(n), el)
	if err := e.Close(); err != nil {
		return err
	}
	return os.RemoveAll(filepath.Join(c.dir, "w1b"))
}

// batchClock is W1b's stopwatch (a test's fake sees what it times).
var batchClock = time.Now

// batch returns the keys numbered ids with fresh random values, in new
// memory (engines may hold on to it until the commit returns).
func (c *child) batch(w *worker, ids []int) []KV {
	slab := make([]byte, len(ids)*(KeyLen+ValueLen))
	w.src.Read(slab)
	kvs := make([]KV, len(ids))
	for j, id := range ids {
		rec := slab[j*(KeyLen+ValueLen) : (j+1)*(KeyLen+ValueLen)]
		putKey(rec[:KeyLen], id)
		kvs[j] = KV{Key: rec[:KeyLen], Value: rec[KeyLen:]}
	}
	return kvs
}

// history runs W3: it loads HistoryKeys keys with HistoryVersions versions
// each (untimed, one commit per BatchLen keys and version), then reads
// History(10) of random keys.
func (c *child) history() error {
	e, err := c.open("w3", OpenOptions{Versions: true})
	if err != nil {
		return err
	}
	if err := closing(e, func() error { return c.historyOn(e) }); err != nil {
		return err
	}
	return os.RemoveAll(filepath.Join(c.dir, "w3"))
}

// historyOn loads and reads W3 on the open engine e.
func (c *child) historyOn(e Engine) error {
	h := c.cfg.HistoryKeys
	w := c.newWorker(3)
	ids := make([]int, h)
	for i := range ids {
		ids[i] = i
	}
	start := time.Now()
	for ver := uint64(1); ver <= HistoryVersions; ver++ {
		for off := 0; off < h; off += BatchLen {
			if err := e.PutVersions(c.batch(w, ids[off:min(off+BatchLen, h)]), ver); err != nil {
				return fmt.Errorf("W3 load: %w", err)
			}
		}
	}
	c.logf("W3 load: %d keys x %d versions in %.2fs (untimed)", h, HistoryVersions, time.Since(start).Seconds())
	if s, ok := e.(ExtraStatser); ok {
		if ib, ok := s.ExtraStats()["IndexBytes"]; ok {
			c.res.Metrics[MetricIndexW3] = float64(ib)
		}
	}
	if err := c.histories(MetricHistory, "W3 History(10)", e.History); err != nil {
		return err
	}
	if v, ok := e.(Visiter); ok {
		return c.histories(MetricHistoryFn, "W3b History(10), values to a function", v.HistoryVisit)
	}
	return nil
}

// histories runs W3 (or W3b) on the loaded data with history, recording
// metric.
func (c *child) histories(metric, label string, history func(k []byte, limit int) (int, int, error)) error {
	h := c.cfg.HistoryKeys
	ops, el, err := c.timed(1, c.cfg.Keys, 64, c.cfg.ReadCap, func(w *worker) error {
		putKey(w.key, w.rng.IntN(h))
		got, bytes, err := history(w.key, HistoryVersions)
		if err != nil {
			return err
		}
		if got != HistoryVersions || bytes != HistoryVersions*ValueLen {
			return fmt.Errorf("%s history %s: %d versions, %d bytes, want %d", label, w.key, got, bytes, HistoryVersions)
		}
		return nil
	})
	if err != nil {
		return err
	}
	c.record(metric, label, "ops/s", ops, el)
	return nil
}

// compactSpace runs W7: HistoryKeys keys written HistoryVersions times
// over (untimed, one commit per BatchLen keys), then the engine's own
// compaction of everything (timed), Close, and the bytes left on disk.
// Strata is opened with Retention{KeepVersions: 1}, the others keep one
// version by default. An engine without a compaction call is left out.
func (c *child) compactSpace() error {
	e, err := c.open("w7", OpenOptions{KeepOne: true})
	if err != nil {
		return err
	}
	cp, ok := e.(Compacter)
	if !ok {
		c.logf("W7: no compaction call; skipped")
		return e.Close()
	}
	h := c.cfg.HistoryKeys
	w := c.newWorker(7)
	ids := make([]int, h)
	for i := range ids {
		ids[i] = i
	}
	for range HistoryVersions {
		for off := 0; off < h; off += BatchLen {
			if err := e.Batch(c.batch(w, ids[off:min(off+BatchLen, h)])); err != nil {
				e.Close()
				return fmt.Errorf("W7 load: %w", err)
			}
		}
	}
	c.logf("W7: loaded%s", memNow())
	start := time.Now()
	if err := cp.Compact(); err != nil {
		e.Close()
		return fmt.Errorf("W7 compact: %w", err)
	}
	el := time.Since(start)
	if err := e.Close(); err != nil {
		return fmt.Errorf("W7 close: %w", err)
	}
	dir := filepath.Join(c.dir, "w7")
	size, err := dirBytes(dir)
	if err != nil {
		return err
	}
	c.res.Metrics[MetricCompacted] = float64(size)
	c.res.Metrics[MetricCompactS] = el.Seconds()
	c.logf("W7: compaction %.2fs, then %.1f MiB on disk%s", el.Seconds(), float64(size)/(1<<20), memNow())
	return os.RemoveAll(dir)
}

// syncCommits runs W5: SyncWorkers goroutines each commit one random put
// at a time with fsync, into a fresh directory.
func (c *child) syncCommits() error {
	e, err := c.open("w5", OpenOptions{Sync: true})
	if err != nil {
		return err
	}
	if err := closing(e, func() error { return c.syncOn(e) }); err != nil {
		return err
	}
	return os.RemoveAll(filepath.Join(c.dir, "w5"))
}

// syncOn runs W5 on the open engine e.
func (c *child) syncOn(e Engine) error {
	n := c.cfg.Keys
	ops, el, err := c.timed(SyncWorkers, max(n/10, 1000), 1, c.cfg.SyncCap, func(w *worker) error {
		putKey(w.key, w.rng.IntN(n))
		return e.SyncPut(w.key, w.randomValue())
	})
	if err != nil {
		return err
	}
	c.record(MetricSync, "W5 fsync per commit, 8 goroutines", "commits/s", ops, el)
	if s, ok := e.(ExtraStatser); ok {
		st := s.ExtraStats()
		commits, groups, fsyncs := st["Commits"], st["Groups"], st["Fsyncs"]
		c.logf("W5: %d commits, %d groups, %d fsyncs", commits, groups, fsyncs)
		if fsyncs > 0 {
			c.res.Metrics[MetricPerFsync] = float64(commits) / float64(fsyncs)
		}
	}
	return nil
}

// dirBytes returns the bytes the regular files under dir take on disk
// (allocated blocks where the system says, as du does; their sizes
// understated Pebble's preallocated WAL, review 52).
func dirBytes(dir string) (int64, error) {
	var total int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			info, err := d.Info()
			if err != nil {
				return err
			}
			total += diskBytes(info)
		}
		return nil
	})
	return total, err
}

// gcSample is the process's CPU time so far, as runtime/metrics splits it.
type gcSample struct{ gc, busy float64 }

// readGCShare samples the CPU the garbage collector and the process as a
// whole (all but idle) have used. It runs a collection first: the runtime
// brings the /cpu/classes metrics up to date only at the end of one, so
// a sample taken without it is as of the last collection, which may be
// long before (review 52: 300 ms of CPU read as none, and W2's window
// reached back into the reopen before it). The window of two samples is
// then exactly the work between them, plus the second's collection,
// which counts against the engine (a full cycle more than it ran).
func readGCShare() gcSample {
	runtime.GC()
	ms := []metrics.Sample{
		{Name: "/cpu/classes/gc/total:cpu-seconds"},
		{Name: "/cpu/classes/total:cpu-seconds"},
		{Name: "/cpu/classes/idle:cpu-seconds"},
	}
	metrics.Read(ms)
	return gcSample{gc: ms[0].Value.Float64(), busy: ms[1].Value.Float64() - ms[2].Value.Float64()}
}

// since returns the share of busy CPU the collector took since s0.
func (s gcSample) since(s0 gcSample) float64 {
	if busy := s.busy - s0.busy; busy > 0 {
		return (s.gc - s0.gc) / busy
	}
	return 0
}
