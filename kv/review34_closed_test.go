package kv

import (
	"errors"
	"testing"
)

// Close: "Every other method called after Close returns ErrClosed."
// CheckWrite is a method of *DB.
func TestReview34CheckWriteAfterCloseReturnsErrClosed(t *testing.T) {
	db, err := Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	v := Int(1)
	if err := db.CheckWrite(DefaultRun, "k", &v); !errors.Is(err, ErrClosed) {
		t.Fatalf("CheckWrite after Close = %v, want ErrClosed", err)
	}
}
