// Command writer is the crash harness's victim: it writes to a Strata
// directory from several goroutines and prints each operation once it is
// acknowledged, until it is killed.
//
// Worker w runs operations j = 0, 1, 2, ... of kvtest.WorkerOp(w, j) (on
// its own keys, chosen by j alone so the harness can replay them) and
// prints "ack <w> <j> <version>" (version 0 where the call returns none)
// after the call returns without error.
package main

import (
	"flag"
	"fmt"
	"os"
	"sync"

	"github.com/strata-kv/strata/internal/kvtest"
	"github.com/strata-kv/strata/kv"
)

func main() {
	dir := flag.String("dir", "", "data directory")
	strict := flag.Bool("strict", false, "Strict durability")
	workers := flag.Int("workers", 4, "writer goroutines")
	segment := flag.Int64("segment", 16<<10, "segment size")
	pad := flag.Int("pad", 0, "bytes of a value each worker also writes, unacknowledged, to run \"pad\" before every fourth operation (0: none): commits over 2 KiB, which reach the segment by pwrite, not a copy into its mapping")
	flag.Parse()
	opts := &kv.Options{SegmentSize: *segment}
	if *strict {
		opts.Durability = kv.Strict
	}
	db, err := kv.Open(*dir, opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		os.Exit(1)
	}
	var mu sync.Mutex
	ack := func(w, j int, v kv.Version) {
		line := fmt.Sprintf("ack %d %d %d\n", w, j, v)
		mu.Lock()
		os.Stdout.WriteString(line) // one write per line: a kill never splits two
		mu.Unlock()
	}
	fmt.Println("ready")
	var wg sync.WaitGroup
	for w := 0; w < *workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for j := 0; ; j++ {
				if *pad > 0 && j%4 == 0 {
					val := kvtest.PadValue(uint64(w)<<32|uint64(j), *pad)
					if _, err := db.Put("pad", fmt.Sprint("w", w), kv.Bytes(val)); err != nil {
						fmt.Fprintf(os.Stderr, "worker %d pad before op %d: %v\n", w, j, err)
						os.Exit(1)
					}
				}
				v, err := Op(db, w, j)
				if err != nil {
					fmt.Fprintf(os.Stderr, "worker %d op %d: %v\n", w, j, err)
					os.Exit(1)
				}
				ack(w, j, v)
			}
		}(w)
	}
	wg.Wait()
}

// Op runs operation j of worker w and returns the version the call
// returned (0 for the calls that return none).
func Op(db *kv.DB, w, j int) (kv.Version, error) {
	op := kvtest.WorkerOp(w, j)
	res, err := kvtest.Exec(db, op)
	if op.Kind != kvtest.OpPut && op.Kind != kvtest.OpMPut {
		res.Version = 0 // Exec's is LastVersion, maybe another worker's
	}
	return res.Version, err
}
