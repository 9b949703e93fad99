package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A mutation that does not compile is a broken list entry, not a catch
// (found on review: any failure of go test counted as caught).
func TestMutationThatDoesNotCompileIsAnError(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module tiny\n\ngo 1.22\n")
	write("a.go", "package tiny\n\nfunc F() int {\n\treturn 1\n}\n")
	write("a_test.go", "package tiny\n\nimport \"testing\"\n\nfunc TestF(t *testing.T) {\n\tif F() != 1 {\n\t\tt.Fatal(\"F\")\n\t}\n}\n")
	t.Chdir(dir)
	orig, _ := os.ReadFile("a.go")

	broken := mutation{file: "a.go", why: "a typo", old: []string{"return 1"}, new: []string{"return 1 +"}, test: []string{"."}}
	if caught, err := run(context.Background(), broken, time.Minute); err == nil || caught {
		t.Fatalf("a mutation that does not compile: caught %v, err %v; want an error", caught, err)
	}
	real := mutation{file: "a.go", why: "off by one", old: []string{"return 1"}, new: []string{"return 2"}, test: []string{"."}}
	if caught, err := run(context.Background(), real, time.Minute); err != nil || !caught {
		t.Fatalf("a mutation the test catches: caught %v, err %v", caught, err)
	}
	if b, _ := os.ReadFile("a.go"); string(b) != string(orig) {
		t.Fatalf("the file is not restored:\n%s", b)
	}
}
