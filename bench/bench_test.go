package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestMain lets the test binary serve as its own child process: the
// harness re-executes os.Executable, which under go test is this binary.
func TestMain(m *testing.M) {
	if os.Getenv(ChildEnv) != "" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// TestHarness runs the whole harness, Strata and Pebble in their own child
// processes, at a tiny scale, and checks that the table has every row with
// a number in every cell and that the JSON holds a positive number for
// every row and engine.
func TestHarness(t *testing.T) {
	jsonFile := filepath.Join(t.TempDir(), "out.json")
	var stdout, stderr bytes.Buffer
	code := run([]string{
		"-scale", "0.001", "-engines", "strata,pebble",
		"-duration", "200ms", "-sync-duration", "200ms", "-fsync-probe", "50ms",
		"-tmpdir", t.TempDir(), "-json", jsonFile,
	}, &stdout, &stderr)
	t.Logf("progress:\n%s", stderr.String())
	t.Logf("table:\n%s", stdout.String())
	if code != 0 {
		t.Fatalf("exit code %d", code)
	}

	table := stdout.String()
	rep := &Report{HistoryKeys: 100}
	for _, rw := range rows {
		title := rw.title(rep)
		var line string
		for _, l := range strings.Split(table, "\n") {
			if strings.HasPrefix(l, "| "+title+" |") {
				line = l
			}
		}
		if line == "" {
			t.Errorf("no row %q", title)
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) != 4 { // label, Strata, Pebble, ratio
			t.Errorf("row %q has %d cells, want 4", title, len(cells))
			continue
		}
		for _, c := range cells[1:3] {
			c = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(c), "‡"))
			c = strings.TrimSuffix(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(c), "†")), "%")
			v, err := strconv.ParseFloat(strings.ReplaceAll(c, ",", ""), 64)
			zeroOK := rw.metric == MetricReopen || rw.metric == MetricGCShare || rw.metric == MetricCompacted // a tiny run may see no GC, and round a few KiB to 0.0 MiB
			if err != nil || v < 0 || (v == 0 && !zeroOK) {
				t.Errorf("row %q: cell %q is not a positive number", title, c)
			}
		}
		if rw.ratio != noRatio && !strings.Contains(cells[3], "x") {
			t.Errorf("row %q: ratio cell %q", title, cells[3])
		}
	}
	if !strings.Contains(table, "emulated with keys key||bigEndian(^version)") {
		t.Errorf("the notes do not explain Pebble's history emulation")
	}

	b, err := os.ReadFile(jsonFile)
	if err != nil {
		t.Fatal(err)
	}
	var got Report
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Engines) != 2 || got.Engines[0].Engine != "strata" || got.Engines[1].Engine != "pebble" {
		t.Fatalf("JSON engines: %+v", got.Engines)
	}
	for _, r := range got.Engines {
		for _, rw := range rows {
			v, ok := r.Metrics[rw.metric]
			if !ok && rw.fallback != "" && r.Engine != "strata" {
				continue // a peer's W3b and W4b are its W3 and W4 (‡)
			}
			if !ok || v < 0 || (v == 0 && rw.metric != MetricGCShare) {
				t.Errorf("%s %s = %v, want > 0", r.Engine, rw.metric, v)
			}
		}
	}
	for _, m := range []string{MetricPerFsync, MetricIndexBytes} {
		if v := got.Engines[0].Metrics[m]; !(v > 0) {
			t.Errorf("strata %s = %v, want > 0", m, v)
		}
	}
	if got.Keys != 1000 || got.HistoryKeys != 100 || !(got.FsyncPerSec > 0) {
		t.Errorf("JSON header: keys %d, history keys %d, fsync/s %v", got.Keys, got.HistoryKeys, got.FsyncPerSec)
	}
}

// TestKeys checks the key shape every workload relies on: 16 bytes, in
// numeric order, a prefix selecting exactly 100 consecutive keys.
func TestKeys(t *testing.T) {
	k := make([]byte, KeyLen)
	putKey(k, 1234567)
	if string(k) != "key:000001234567" {
		t.Fatalf("putKey = %q", k)
	}
	if p := string(k[:PrefixLen]); p != "key:0000012345" {
		t.Fatalf("prefix = %q", p)
	}
	if e := prefixEnd([]byte("ab\xff")); string(e) != "ac" {
		t.Fatalf("prefixEnd = %q", e)
	}
	v1, v2 := versionedKey(k, 1), versionedKey(k, 2)
	if len(v1) != KeyLen+8 || bytes.Compare(v2, v1) >= 0 {
		t.Fatalf("versioned keys must sort newest first: %x %x", v1, v2)
	}
	if names, err := parseEngines("pebble, strata"); err != nil || strings.Join(names, ",") != "strata,pebble" {
		t.Fatalf("parseEngines = %v, %v", names, err)
	}
	if _, err := parseEngines("rocksdb"); err == nil {
		t.Fatal("parseEngines accepted an unknown engine")
	}
	if s := fmtCount(1234567.4); s != "1,234,567" {
		t.Fatalf("fmtCount = %q", s)
	}
}
