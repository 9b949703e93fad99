package kv_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/strata-kv/strata/kv"
)

func ExampleOpen() {
	dir, err := os.MkdirTemp("", "strata-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	db, err := kv.Open(dir, &kv.Options{Durability: kv.Strict})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := db.Put(kv.DefaultRun, "greeting", kv.String("hello")); err != nil {
		log.Fatal(err)
	}
	if err := db.Close(); err != nil {
		log.Fatal(err)
	}

	// Everything committed is there after a reopen.
	db, err = kv.Open(dir, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	v, ok, err := db.Get(kv.DefaultRun, "greeting")
	fmt.Println(v.Value, v.Version, ok, err)
	// Output: "hello" 1 true <nil>
}

func ExampleDB_Put() {
	db, _ := kv.Open("", &kv.Options{Durability: kv.InMemory})
	defer db.Close()
	run := kv.RunID("agent-7")

	db.Put(run, "state", kv.Object(map[string]kv.Value{
		"step":  kv.Int(1),
		"tools": kv.Array(kv.String("search"), kv.String("shell")),
	}))
	got, ok, _ := db.Get(run, "state")
	fmt.Println(ok, got.Value)

	_, ok, _ = db.Get(run, "missing")
	fmt.Println(ok)
	// Output:
	// true {"step": 1, "tools": ["search", "shell"]}
	// false
}

func ExampleDB_History() {
	db, _ := kv.Open("", &kv.Options{Durability: kv.InMemory})
	defer db.Close()
	for i := 1; i <= 5; i++ {
		db.Put(kv.DefaultRun, "step", kv.Int(int64(i)))
	}
	db.Delete(kv.DefaultRun, "step")

	// Pages of two, newest first: each page's last version is the next
	// page's before.
	before := kv.Version(0)
	for {
		page, err := db.History(kv.DefaultRun, "step", 2, before)
		if err != nil || len(page) == 0 {
			break
		}
		for _, v := range page {
			fmt.Printf("v%d deleted=%v %v\n", v.Version, v.Deleted, v.Value)
		}
		before = page[len(page)-1].Version
	}
	// Output:
	// v6 deleted=true null
	// v5 deleted=false 5
	// v4 deleted=false 4
	// v3 deleted=false 3
	// v2 deleted=false 2
	// v1 deleted=false 1
}

func ExampleDB_ViewAt() {
	db, _ := kv.Open("", &kv.Options{Durability: kv.InMemory})
	defer db.Close()
	db.Put(kv.DefaultRun, "plan", kv.String("draft"))
	checkpoint := db.LastVersion()
	db.Put(kv.DefaultRun, "plan", kv.String("final"))
	db.Put(kv.DefaultRun, "result", kv.Int(42))

	// Read the whole database as it was at the checkpoint.
	db.ViewAt(checkpoint, func(tx *kv.Txn) error {
		plan, _, _ := tx.Get(kv.DefaultRun, "plan")
		keys, _ := tx.Keys(kv.DefaultRun, "", 0)
		fmt.Println(plan.Value, keys)
		return nil
	})
	// Output: "draft" [plan]
}

func ExampleDB_Update() {
	db, _ := kv.Open("", &kv.Options{Durability: kv.InMemory})
	defer db.Close()
	db.MPut("bank", []kv.KeyValue{{Key: "alice", Value: kv.Int(100)}, {Key: "bob", Value: kv.Int(0)}})

	transfer := func(from, to string, amount int64) error {
		// Update never retries fn itself: on ErrConflict, run it again.
		for {
			_, err := db.Update(func(tx *kv.Txn) error {
				a, _, err := tx.Get("bank", from)
				if err != nil {
					return err
				}
				b, _, err := tx.Get("bank", to)
				if err != nil {
					return err
				}
				balance, _ := a.Value.AsInt()
				if balance < amount {
					return fmt.Errorf("insufficient funds: %d", balance)
				}
				credit, _ := b.Value.AsInt()
				if err := tx.Put("bank", from, kv.Int(balance-amount)); err != nil {
					return err
				}
				return tx.Put("bank", to, kv.Int(credit+amount))
			})
			if errors.Is(err, kv.ErrConflict) {
				continue
			}
			return err
		}
	}
	fmt.Println(transfer("alice", "bob", 30))
	fmt.Println(transfer("alice", "bob", 300))
	vals, _ := db.MGet("bank", []string{"alice", "bob"})
	fmt.Println(vals[0].Value, vals[1].Value)
	// Output:
	// <nil>
	// insufficient funds: 70
	// 70 30
}

func ExampleDB_Scan() {
	db, _ := kv.Open("", &kv.Options{Durability: kv.InMemory})
	defer db.Close()
	for _, k := range []string{"task/1", "task/2", "task/3", "note"} {
		db.Put(kv.DefaultRun, k, kv.Bool(true))
	}
	cursor := ""
	for {
		page, err := db.Scan(kv.DefaultRun, "task/", 2, cursor)
		if err != nil {
			log.Fatal(err)
		}
		for _, e := range page.Entries {
			fmt.Println(e.Key, e.Version)
		}
		if page.Cursor == "" {
			break
		}
		cursor = page.Cursor
	}
	// Output:
	// task/1 1
	// task/2 2
	// task/3 3
}

// ScanFunc hands each key and value to a function instead of returning a
// page: nothing is allocated for them, so the bytes of a Bytes value (and
// the key) are valid only until the function returns. Copy what you keep.
func ExampleDB_ScanFunc() {
	db, _ := kv.Open("", &kv.Options{Durability: kv.InMemory})
	defer db.Close()
	for i, k := range []string{"img/a", "img/b", "img/c", "doc"} {
		db.Put(kv.DefaultRun, k, kv.Bytes(make([]byte, 10*(i+1))))
	}
	total := 0
	err := db.ScanFunc(kv.DefaultRun, "img/", "", 0, func(key []byte, v kv.Versioned) bool {
		b, _ := v.Value.AsBytes()
		total += len(b)
		fmt.Printf("%s %d bytes\n", key, len(b))
		return true // false stops the scan
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("total", total)
	// Output:
	// img/a 10 bytes
	// img/b 20 bytes
	// img/c 30 bytes
	// total 60
}

// HistoryFunc is History through a function, without allocating: here it
// finds the newest version that was a deletion.
func ExampleDB_HistoryFunc() {
	db, _ := kv.Open("", &kv.Options{Durability: kv.InMemory})
	defer db.Close()
	db.Put(kv.DefaultRun, "k", kv.Int(1))
	db.Delete(kv.DefaultRun, "k")
	db.Put(kv.DefaultRun, "k", kv.Int(2))
	db.HistoryFunc(kv.DefaultRun, "k", 0, 0, func(v kv.Versioned) bool {
		if v.Deleted {
			fmt.Println("deleted at version", v.Version)
			return false
		}
		return true
	})
	// Output:
	// deleted at version 2
}

// A change feed: a consumer reads, oldest first, what is committed to a
// run after the last version it has seen, and waits for the next commit
// when it has caught up. It never skips or repeats a version, even
// across a restart, if it keeps that last version somewhere durable.
func ExampleDB_Changes() {
	db, err := kv.Open("", &kv.Options{Durability: kv.InMemory})
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	done := make(chan struct{})
	go func() { // the writer
		defer close(done)
		for _, step := range []string{"plan", "search", "answer"} {
			if _, err := db.Put("agent-7", "step", kv.String(step)); err != nil {
				log.Fatal(err)
			}
			if _, err := db.Put("agent-9", "step", kv.String("elsewhere")); err != nil {
				log.Fatal(err)
			}
		}
	}()

	ctx := context.Background()
	after := kv.Version(0) // the consumer's position
	for seen := 0; seen < 3; {
		last := db.LastVersion() // nothing up to here is missed if Changes finds nothing
		changes, err := db.Changes("agent-7", "", after, 100)
		if err != nil {
			log.Fatal(err)
		}
		if len(changes) == 0 {
			// Past other runs' commits, else WaitFor returns at once.
			after = max(after, last)
			if err := db.WaitFor(ctx, after+1); err != nil { // block until something new commits
				log.Fatal(err)
			}
			continue
		}
		for _, c := range changes {
			fmt.Println(c.Version, c.Key, c.Value)
			after = c.Version
			seen++
		}
	}
	<-done
	// Output:
	// 1 step "plan"
	// 3 step "search"
	// 5 step "answer"
}

// Fork a run, change the copy, and see what differs from the original.
func ExampleDB_ForkRun() {
	db, err := kv.Open("", &kv.Options{Durability: kv.InMemory})
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	must := func(_ kv.Version, err error) {
		if err != nil {
			log.Fatal(err)
		}
	}
	must(db.Put("main", "prompt", kv.String("be brief")))
	must(db.Put("main", "model", kv.String("small")))

	fork, err := db.ForkRun("main", "experiment", 0)
	if err != nil {
		log.Fatal(err)
	}
	must(db.Put("experiment", "model", kv.String("large")))
	_, err = db.Delete("experiment", "prompt")
	if err != nil {
		log.Fatal(err)
	}

	diff, err := db.Diff("experiment", fork, db.LastVersion())
	if err != nil {
		log.Fatal(err)
	}
	for _, c := range diff {
		if c.Deleted {
			fmt.Println(c.Key, "deleted")
		} else {
			fmt.Println(c.Key, "=", c.Value)
		}
	}
	v, _, _ := db.Get("main", "model")
	fmt.Println("main still has", v.Value)
	// Output:
	// model = "large"
	// prompt deleted
	// main still has "small"
}
