// Command writer is the crash harness's victim: it writes to a Strata
// directory from several goroutines and prints each operation once it is
// acknowledged, until it is killed.
//
// Worker w runs operations j = 0, 1, 2, ... on its own keys, chosen by j
// alone so the harness can replay them:
//
//	j%4 == 0  Put    w<w>/p<(j/4)%5>          = Int(j)
//	j%4 == 1  MPut   w<w>/b0, w<w>/b1, w<w>/b2 = Int(j)
//	j%4 == 2  Delete w<w>/p<(j/4+2)%5>
//	j%4 == 3  Incr   w<w>/c by 1
//
// and prints "ack <w> <j> <version>" (version 0 where the call returns
// none) after the call returns without error.
package main

import (
	"flag"
	"fmt"
	"os"
	"sync"

	"github.com/strata-kv/strata/kv"
)

func main() {
	dir := flag.String("dir", "", "data directory")
	strict := flag.Bool("strict", false, "Strict durability")
	workers := flag.Int("workers", 4, "writer goroutines")
	segment := flag.Int64("segment", 16<<10, "segment size")
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

// Op runs operation j of worker w.
func Op(db *kv.DB, w, j int) (kv.Version, error) {
	run := kv.RunID("crash")
	p := func(i int) string { return fmt.Sprintf("w%d/p%d", w, i) }
	switch j % 4 {
	case 0:
		return db.Put(run, p((j/4)%5), kv.Int(int64(j)))
	case 1:
		b := func(i int) string { return fmt.Sprintf("w%d/b%d", w, i) }
		return db.MPut(run, []kv.KeyValue{{Key: b(0), Value: kv.Int(int64(j))}, {Key: b(1), Value: kv.Int(int64(j))}, {Key: b(2), Value: kv.Int(int64(j))}})
	case 2:
		_, err := db.Delete(run, p((j/4+2)%5))
		return 0, err
	default:
		_, err := db.Incr(run, fmt.Sprintf("w%d/c", w), 1)
		return 0, err
	}
}
